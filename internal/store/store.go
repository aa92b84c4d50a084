// Package store keeps what must survive a restart: active bans, offender history, source positions and pending windows.
//
// The state lives in one bbolt file. Every method of Store may be called
// from several goroutines at once: reads (Bans, Offenders, Position,
// Positions, Pending) run in parallel with each other; a writer (Update,
// Prune) runs alone, since a read overlays the writes kept from failed
// Updates on what it reads from the file and a commit in between would
// change both. Reads happen at start-up and reload, not on the hot path.
// Close waits for running calls; calls after Close return ErrClosed.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked reports that another process holds the state file.
	ErrLocked = errors.New("locked by another peerjail")
	// ErrCorrupt reports a state file that bbolt cannot read or that is
	// shorter than its own header says.
	ErrCorrupt = errors.New("corrupt or truncated")
	// ErrVersion reports a state file written in a format this build does
	// not know (a newer peerjail, or not a peerjail file at all).
	ErrVersion = errors.New("unknown format")
	// ErrClosed reports a call after Close.
	ErrClosed = errors.New("state store closed")
	// ErrBehind reports an Update that could not be written yet: its
	// records are kept and written by a later Update.
	ErrBehind = errors.New("state not saved yet")
)

var (
	bucketMeta      = []byte("meta")
	bucketBans      = []byte("bans")
	bucketOffenders = []byte("offenders")
	bucketPositions = []byte("positions")
	bucketPending   = []byte("pending")
	keyVersion      = []byte("version")
)

// DefaultLockTimeout is how long Open waits for the file lock.
const DefaultLockTimeout = time.Second

// Options tune Open. The zero value is the production setting.
type Options struct {
	// Logger receives warnings about skipped records; nil discards them.
	Logger *slog.Logger
	// LockTimeout bounds the wait for the file lock; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// NoSync skips fsync on commit. Only for tests and benchmarks: a crash
	// can then lose the last Updates or damage the file.
	NoSync bool
}

// Store is an open state file.
type Store struct {
	db      *bolt.DB
	path    string
	log     *slog.Logger
	skipped atomic.Uint64

	// qmu orders writers with each other and reads with the queue: a read
	// overlays the queue on what it read from the file, so no write may
	// commit the queue in between.
	qmu        sync.RWMutex
	q          queue
	behind     atomic.Int64  // q.size(), for Behind without the lock
	errs       atomic.Uint64 // failed writes
	lastTry    time.Time     // of a write, for RetryInterval
	retryEvery time.Duration // RetryInterval; tests set 0
	failWrite  func() error  // tests: fail commits as a full disk would
}

// Open opens the state file at path, creating it (mode 0600) and its
// directory (mode 0700) when missing.
func Open(path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, log: opts.Logger.With("state", path), retryEvery: RetryInterval}
	if err := s.prepare(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// openBolt opens the bbolt file and turns bbolt's errors and panics into
// errors that tell the operator what happened.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	var file *os.File
	defer func() {
		if r := recover(); r != nil {
			// bbolt panicked halfway through Open: release the lock by hand
			// so the process can retry or move the file aside.
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, corruptError(path, fmt.Errorf("bbolt: %v", r))
		}
	}()
	defer faultsPanic()()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		NoSync:  opts.NoSync,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("state file %s is %w", path, ErrLocked)
	case isOSError(err):
		return nil, fmt.Errorf("open state file: %w", err)
	default:
		return nil, corruptError(path, err)
	}
}

// prepare checks the file's size and format version, and creates the
// buckets of a new file.
func (s *Store) prepare() error {
	return s.update(func(tx *bolt.Tx) error {
		if err := s.checkSize(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return s.create(tx)
		}
		if err := s.checkVersion(meta.Get(keyVersion)); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketBans, bucketOffenders, bucketPositions} {
			if tx.Bucket(name) == nil {
				return corruptError(s.path, fmt.Errorf("bucket %s is missing", name))
			}
		}
		// Added after version 1 was released, compatibly: see pending.go
		// and actions.go.
		for _, name := range [][]byte{bucketPending, bucketActions, bucketAddrs, bucketEscalated} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
}

// checkSize catches a truncated file before a read runs off its end.
func (s *Store) checkSize(tx *bolt.Tx) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("stat state file: %w", err)
	}
	if fi.Size() < tx.Size() {
		return corruptError(s.path, fmt.Errorf("file has %d bytes, its header says %d", fi.Size(), tx.Size()))
	}
	return nil
}

func (s *Store) create(tx *bolt.Tx) error {
	if k, _ := tx.Cursor().First(); k != nil {
		return fmt.Errorf("state file %s: %w: a bbolt file without peerjail's version key", s.path, ErrVersion)
	}
	for _, name := range [][]byte{bucketMeta, bucketBans, bucketOffenders, bucketPositions, bucketPending, bucketActions, bucketAddrs, bucketEscalated} {
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	v := binary.AppendUvarint(nil, formatVersion)
	return tx.Bucket(bucketMeta).Put(keyVersion, v)
}

func (s *Store) checkVersion(v []byte) error {
	n, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) {
		return fmt.Errorf("state file %s: %w: unreadable version key %x", s.path, ErrVersion, v)
	}
	if n != formatVersion {
		// Migrations from older versions go here once there are any.
		return fmt.Errorf("state file %s: %w: version %d, this peerjail reads version %d", s.path, ErrVersion, n, formatVersion)
	}
	return nil
}

// Close releases the file and its lock. It waits for running calls and is
// safe to call twice. Writes still kept from failed Updates get one last
// try; if that fails too, Close says how many records are lost.
func (s *Store) Close() error {
	var lost error
	if err := s.write(Batch{}, true); err != nil && !errors.Is(err, ErrClosed) {
		lost = fmt.Errorf("state file %s: %d records never saved: %w", s.path, s.Behind(), err)
		s.log.Error("closing the state store with writes it could not save", "records", s.Behind(), "err", err)
	}
	if err := s.db.Close(); err != nil {
		return errors.Join(lost, fmt.Errorf("close state file %s: %w", s.path, err))
	}
	return lost
}

// Behind is how many records failed Updates left to write (bans,
// offenders, positions, jails' windows); 0 when the file holds everything.
func (s *Store) Behind() int { return int(s.behind.Load()) }

// Errors counts, since Open, the Updates whose write failed.
func (s *Store) Errors() uint64 { return s.errs.Load() }

// fellBehind records a failed write; the caller holds qmu.
func (s *Store) fellBehind(err error) {
	s.errs.Add(1)
	if s.behind.Swap(int64(s.q.size())) == 0 {
		s.log.Warn("state store is behind: writes failed and are kept until one succeeds", "records", s.q.size(), "err", err)
	}
}

// caughtUp records a successful write; the caller holds qmu.
func (s *Store) caughtUp() {
	if s.q.empty() {
		return
	}
	s.log.Info("state store caught up: every kept write is saved", "records", s.q.size())
	s.q = queue{}
	s.behind.Store(0)
}

// Path is the state file's path.
func (s *Store) Path() string { return s.path }

// Skipped counts, since Open, each time a read met a record it could not
// decode and skipped: a damaged record counts once per read until Prune
// removes it. Each call that skips records also logs one warning.
func (s *Store) Skipped() uint64 { return s.skipped.Load() }
