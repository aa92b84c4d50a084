//go:build linux

package source

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestFilesUnreadable: a file that cannot be read (permission denied) is
// logged and tried again, never fatal; once readable it is followed. Root
// reads anything, so as root the test runs itself again as nobody.
func TestFilesUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		if os.Getenv("PEERJAIL_UNPRIV") != "" {
			t.Fatal("still root")
		}
		reexec(t, "TestFilesUnreadable", []string{"PEERJAIL_UNPRIV=1"}, &syscall.Credential{Uid: 65534, Gid: 65534})
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "old\n")
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	rec, lr := &recorder{}, &logRecorder{}
	files := NewFiles([]string{filepath.Join(dir, "*.log")}, nil,
		FileOptions{Rescan: 50 * time.Millisecond, Logger: slog.New(slog.NewMultiHandler(rec, lr))})
	scans := watchScans(files)
	got, stop := runFiles(t, files)
	defer stop()
	if !rec.logged(path, fs.ErrPermission) { // the first scan tried it
		t.Fatal("no warning about the unreadable file")
	}
	scans.wait(t, 3) // each fails again
	if n := lr.count(slog.LevelWarn, "", "path", path); n != 1 {
		t.Errorf("%d warnings about the unreadable file, want 1 (not one per retry)", n)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	// A scan opens the file and places its follower at the end before it
	// returns: a line appended after that is new.
	scans.until(t, "the file followed", func() bool { return following(files, path) })
	appendString(t, path, "readable now\n")
	got.expect("readable now")
	if lr.count(slog.LevelInfo, "file readable again", "path", path) != 1 || lr.count(slog.LevelInfo, "following file", "path", path) != 1 {
		t.Errorf("no info that the file is readable again and followed: %+v", lr.recs)
	}
}

// recorder is a slog handler that keeps the errors logged with a path.
type recorder struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var path string
	var err error
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "path":
			path = a.Value.String()
		case "err":
			err, _ = a.Value.Any().(error)
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errs == nil {
		r.errs = make(map[string][]error)
	}
	r.errs[path] = append(r.errs[path], err)
	return nil
}

func (r *recorder) logged(path string, target error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs[path] {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
