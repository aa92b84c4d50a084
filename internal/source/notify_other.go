//go:build !linux

package source

import (
	"errors"
	"log/slog"
)

// watcher is inotify's, which only Linux has: elsewhere files are polled.
type watcher struct{}

func newWatcher(func(string)) (*watcher, error) {
	return nil, errors.New("inotify is only on linux")
}

func (w *watcher) created() <-chan struct{}                   { return nil }
func (w *watcher) close()                                     {}
func (w *watcher) run()                                       {}
func (w *watcher) watchDirs([]string, []string, *slog.Logger) {}
