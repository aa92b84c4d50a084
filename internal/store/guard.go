package store

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// bbolt trusts the page structure of the file it maps: a damaged page makes
// it panic (bad page type, index out of range) or fault (a pointer past the
// end of a truncated file, SIGBUS). Every call into bbolt therefore runs
// with faults turned into panics and the panic turned into ErrCorrupt, so a
// bad state file is a clear error at start-up, never a crash.

// faultsPanic makes memory faults in this goroutine recoverable panics and
// returns the function that restores the previous setting.
func faultsPanic() func() {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// corruptError names the file, the cause and the way out.
func corruptError(path string, cause error) error {
	return fmt.Errorf("state file %s is %w (%v): move it aside (mv %s %s.broken) and restart; peerjail then starts with no bans, history or positions",
		path, ErrCorrupt, cause, path, path)
}

func isOSError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

// view runs fn in a read transaction, guarded against a damaged file.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer s.recoverCorrupt(&err)
	defer faultsPanic()()
	return closedErr(s.db.View(fn))
}

// update runs fn in a write transaction (one commit, one fsync), guarded
// against a damaged file. bbolt rolls the transaction back on error or panic.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer s.recoverCorrupt(&err)
	defer faultsPanic()()
	return closedErr(s.db.Update(fn))
}

func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Store) recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = corruptError(s.path, fmt.Errorf("bbolt: %v", r))
	}
}
