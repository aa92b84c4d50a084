package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning is returned, with the other daemon's PID, when another
// peerjail daemon holds the state file or the control socket.
var ErrAlreadyRunning = errors.New("another peerjail daemon is running")

// instanceLock is the exclusive hold of one daemon on its state file and
// its control socket: flock on "<state>.lock" and "<socket>.lock", which
// the kernel releases when the process ends, however it ends. The files
// hold the holder's PID, for the message a second daemon prints; they are
// never removed, as removing a lock file lets two processes lock two files.
type instanceLock struct{ files []*os.File }

// lockInstance takes both locks or neither.
func lockInstance(statePath, socketPath string) (*instanceLock, error) {
	l := &instanceLock{}
	for _, p := range []string{statePath + ".lock", socketPath + ".lock"} {
		f, err := lockFile(p)
		if err != nil {
			_ = l.release()
			return nil, err
		}
		l.files = append(l.files, f)
	}
	return l, nil
}

func lockFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (pid %s holds %s): stop it first, or give this one its own --state and --socket",
				ErrAlreadyRunning, holder(path), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// lockRetry is how long a lock held by someone else is retried: a child
// process forked by the previous holder keeps the lock until it execs, and a
// restarted daemon may start while the old one is still closing its files.
const lockRetry = 500 * time.Millisecond

func flock(f *os.File) error {
	deadline := time.Now().Add(lockRetry)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holder is the PID written in a lock file, or "unknown".
func holder(path string) string {
	b, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return pid
	}
	return "unknown"
}

// release lets another daemon start; safe on a partial lock.
func (l *instanceLock) release() error {
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	l.files = nil
	return errors.Join(errs...)
}
