package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenReadOnly opens an existing state file for reading, for commands that
// look at the state of a stopped daemon (`peerjail history`). It takes
// bbolt's shared lock, so while a daemon holds the file it fails with
// ErrLocked after opts.LockTimeout; it creates and changes nothing. A
// missing file is reported as fs.ErrNotExist. Update and Prune on the
// returned Store fail.
func OpenReadOnly(path string, opts Options) (s *Store, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	var file *os.File
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close()
			}
			s, err = nil, corruptError(path, fmt.Errorf("bbolt: %v", r))
		}
	}()
	defer faultsPanic()()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		ReadOnly: true,
		Timeout:  opts.LockTimeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("state file %s is %w", path, ErrLocked)
	case errors.Is(err, fs.ErrNotExist) || isOSError(err):
		return nil, fmt.Errorf("open state file: %w", err)
	case err != nil:
		return nil, corruptError(path, err)
	}
	s = &Store{db: db, path: path, log: opts.Logger.With("state", path), retryEvery: RetryInterval}
	if err := s.view(s.checkReadable); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// checkReadable is prepare's checks without its writes.
func (s *Store) checkReadable(tx *bolt.Tx) error {
	if err := s.checkSize(tx); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("state file %s: %w: no peerjail version key", s.path, ErrVersion)
	}
	if err := s.checkVersion(meta.Get(keyVersion)); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketBans, bucketOffenders} {
		if tx.Bucket(name) == nil {
			return corruptError(s.path, fmt.Errorf("bucket %s is missing", name))
		}
	}
	return nil
}
