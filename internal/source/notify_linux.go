//go:build linux

package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// watcher wakes followers when inotify reports a change in the directory
// of their file, so that lines arrive without waiting for a poll. Watching
// directories, not files, also reports files being created and renamed.
type watcher struct {
	f     *os.File
	wakeF func(path string) // "" wakes every follower
	newF  chan struct{}     // a file appeared: scan the globs now

	mu   sync.Mutex
	dirs map[string]int32
	wds  map[int32]string
	warn bool // a failed watch was logged
}

const watchMask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO |
	unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ATTRIB | unix.IN_ONLYDIR

func newWatcher(wake func(path string)) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	return &watcher{
		f:     os.NewFile(uintptr(fd), "inotify"), // non-blocking: Close ends a Read
		wakeF: wake,
		newF:  make(chan struct{}, 1),
		dirs:  make(map[string]int32),
		wds:   make(map[int32]string),
	}, nil
}

// created is nil without a watcher, so that a select never picks it.
func (w *watcher) created() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.newF
}

func (w *watcher) close() { w.f.Close() }

// watchDirs watches the directories of the globs that are not patterns
// themselves, and those of the files matched.
func (w *watcher) watchDirs(globs, paths []string, log *slog.Logger) {
	if w == nil {
		return
	}
	for _, g := range globs {
		if d := filepath.Clean(filepath.Dir(g)); !hasMeta(d) {
			w.add(d, log)
		}
	}
	for _, p := range paths {
		w.add(filepath.Dir(p), log)
	}
}

func (w *watcher) add(dir string, log *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[dir]; ok {
		return
	}
	var wd int
	var err error
	rc, cerr := w.f.SyscallConn()
	if cerr != nil {
		return
	}
	cerr = rc.Control(func(fd uintptr) {
		wd, err = unix.InotifyAddWatch(int(fd), dir, watchMask)
	})
	if cerr != nil || errors.Is(err, unix.ENOENT) {
		return // no such directory yet: the next scan tries again
	}
	if err != nil {
		if !w.warn {
			log.Warn("inotify watch, relying on polling", "dir", dir, "err", err)
			w.warn = true
		}
		return
	}
	w.dirs[dir], w.wds[int32(wd)] = int32(wd), dir
}

// run reads events until the watcher is closed.
func (w *watcher) run() {
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		w.dispatch(buf[:n])
	}
}

// dispatch routes a batch of inotify events (struct inotify_event: wd,
// mask, cookie, len, then a NUL-padded name of len bytes).
func (w *watcher) dispatch(b []byte) {
	const header = unix.SizeofInotifyEvent
	for len(b) >= header {
		wd := int32(binary.NativeEndian.Uint32(b[0:]))
		mask := binary.NativeEndian.Uint32(b[4:])
		size := header + int(binary.NativeEndian.Uint32(b[12:]))
		if size > len(b) {
			return
		}
		name := cstring(b[header:size])
		b = b[size:]
		w.event(wd, mask, name)
	}
}

func (w *watcher) event(wd int32, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.wakeF("")
		poke(w.newF)
		return
	}
	w.mu.Lock()
	dir, ok := w.wds[wd]
	if ok && mask&unix.IN_IGNORED != 0 { // the directory went away
		delete(w.wds, wd)
		delete(w.dirs, dir)
	}
	w.mu.Unlock()
	if !ok || name == "" {
		return
	}
	if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		poke(w.newF)
	}
	w.wakeF(filepath.Join(dir, name))
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func hasMeta(path string) bool {
	for _, c := range path {
		switch c {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}
