package store

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Batch is a set of changes written in one transaction: either all of it
// is on disk when Update returns nil, or none of it.
type Batch struct {
	PutBans    []Ban    // insert or replace
	DeleteBans []BanKey // applied before PutBans, so a re-ban in the same burst wins
	// PutOffenders inserts or replaces history records.
	PutOffenders []Offender
	// Positions maps a source name to its new position; "" deletes it.
	Positions map[string]string
	// Pending maps a jail to its windows, which replace the saved ones
	// whole; nil or empty deletes them.
	Pending map[string][]PendingHost
	// PutActions inserts or replaces action records; DeleteActions is
	// applied before them.
	PutActions    []ActionRecord
	DeleteActions []ActionKey
}

func (b *Batch) empty() bool {
	return len(b.PutBans) == 0 && len(b.DeleteBans) == 0 && len(b.PutOffenders) == 0 && len(b.Positions) == 0 && len(b.Pending) == 0 &&
		len(b.PutActions) == 0 && len(b.DeleteActions) == 0
}

// Update writes b in one bbolt transaction, so one fsync covers a whole
// burst of decisions. An invalid record (ErrInvalidRecord) anywhere in b
// fails the whole batch and changes nothing.
//
// A valid batch is never lost. When the write fails (a full disk, an I/O
// error), Update returns an error wrapping ErrBehind and keeps b; every
// later Update, including an empty one, first writes what is kept, merged
// with its own batch in one transaction, until one succeeds. Reads see the
// kept writes meanwhile. Behind says how many records wait; a warning is
// logged when the store falls behind and when it has caught up, not on
// every failed retry. While behind, a write is tried at most once per
// RetryInterval: the rest only merge their batch, since each try writes
// the whole queue.
func (s *Store) Update(b Batch) error { return s.write(b, false) }

// RetryInterval is how often, at most, Update tries to write while the
// store is behind.
const RetryInterval = time.Second

func (s *Store) write(b Batch, force bool) error {
	if err := b.validate(); err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if b.empty() && s.q.empty() {
		return nil
	}
	w := &b
	if !s.q.empty() {
		s.q.merge(&b)
		s.behind.Store(int64(s.q.size()))
		if !force && time.Since(s.lastTry) < s.retryEvery {
			return fmt.Errorf("update state: %w (%d records kept, retried within %v)", ErrBehind, s.q.size(), s.retryEvery)
		}
		qb := s.q.batch()
		w = &qb
	}
	s.lastTry = time.Now()
	err := s.update(func(tx *bolt.Tx) error {
		if s.failWrite != nil {
			if err := s.failWrite(); err != nil {
				return err
			}
		}
		return applyBatch(tx, w)
	})
	if err == nil {
		s.caughtUp()
		return nil
	}
	if errors.Is(err, ErrClosed) {
		return fmt.Errorf("update state: %w", err)
	}
	if s.q.empty() {
		s.q.merge(&b)
	}
	s.fellBehind(err)
	return fmt.Errorf("update state: %w (%d records kept, retried with the next write): %w", ErrBehind, s.q.size(), err)
}

// validate checks every record of b as applyBatch would, so that what the
// queue keeps can always be written once the disk allows.
func (b *Batch) validate() error {
	for _, d := range b.DeleteBans {
		if err := validKey(d.Jail, d.Key); err != nil {
			return fmt.Errorf("delete ban: %w", err)
		}
	}
	for _, ban := range b.PutBans {
		if err := cmp.Or(validKey(ban.Jail, ban.Key), checkCount(ban.Offences)); err != nil {
			return fmt.Errorf("put ban: %w", err)
		}
	}
	for _, o := range b.PutOffenders {
		if err := cmp.Or(validKey(o.Jail, o.Key), checkCount(o.Offences)); err != nil {
			return fmt.Errorf("put offender: %w", err)
		}
	}
	for _, k := range b.DeleteActions {
		if err := validAction(k); err != nil {
			return fmt.Errorf("delete action record: %w", err)
		}
	}
	for _, r := range b.PutActions {
		if err := validAction(ActionKey{r.Action, r.Jail, r.Key}); err != nil {
			return fmt.Errorf("put action record: %w", err)
		}
	}
	for src := range b.Positions {
		if src == "" || len(src) > maxSourceKey {
			return fmt.Errorf("position of source %.64q: %w: name empty or longer than %d bytes", src, ErrInvalidRecord, maxSourceKey)
		}
	}
	return validPending(b.Pending)
}

func validKey(jail, key string) error {
	if jail == "" || key == "" || strings.IndexByte(jail, 0) >= 0 || len(jail)+len(key) > maxRecordKey {
		_, err := encodeRecordKey(nil, jail, key)
		return err
	}
	return nil
}

// applyBatch writes b in the order documented on Batch.
func applyBatch(tx *bolt.Tx, b *Batch) error {
	w := arena(make([]byte, 0, 48*(len(b.PutBans)+len(b.DeleteBans)+len(b.PutOffenders))))
	if err := w.deleteBans(tx.Bucket(bucketBans), b.DeleteBans); err != nil {
		return err
	}
	if err := w.putBans(tx.Bucket(bucketBans), b.PutBans); err != nil {
		return err
	}
	if err := w.putAddrs(tx.Bucket(bucketAddrs), b.DeleteBans, b.PutBans); err != nil {
		return err
	}
	if err := w.putEscalated(tx.Bucket(bucketEscalated), b.DeleteBans, b.PutBans); err != nil {
		return err
	}
	if err := w.putOffenders(tx.Bucket(bucketOffenders), b.PutOffenders); err != nil {
		return err
	}
	if err := w.deleteActions(tx.Bucket(bucketActions), b.DeleteActions); err != nil {
		return err
	}
	if err := w.putActions(tx.Bucket(bucketActions), b.PutActions); err != nil {
		return err
	}
	if err := putPositions(tx.Bucket(bucketPositions), b.Positions); err != nil {
		return err
	}
	return putPending(tx.Bucket(bucketPending), b.Pending)
}

// arena holds the encoded keys and values of one batch. bbolt needs them
// untouched until commit; appending never overwrites an earlier record, so
// one buffer serves the whole batch instead of two allocations per record.
type arena []byte

// add appends what enc encodes and returns that part alone.
func (a *arena) add(enc func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(*a)
	grown, err := enc(*a)
	if err != nil {
		return nil, err
	}
	*a = grown
	return grown[start:len(grown):len(grown)], nil
}

func (a *arena) key(jail, key string) ([]byte, error) {
	return a.add(func(dst []byte) ([]byte, error) { return encodeRecordKey(dst, jail, key) })
}

func (a *arena) deleteBans(b *bolt.Bucket, keys []BanKey) error {
	for _, d := range keys {
		k, err := a.key(d.Jail, d.Key)
		if err == nil {
			err = b.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("delete ban: %w", err)
		}
	}
	return nil
}

func (a *arena) putBans(b *bolt.Bucket, bans []Ban) error {
	for _, ban := range bans {
		k, err := a.key(ban.Jail, ban.Key)
		if err != nil {
			return fmt.Errorf("put ban: %w", err)
		}
		v, err := a.add(func(dst []byte) ([]byte, error) { return encodeBanValue(dst, ban) })
		if err == nil {
			err = b.Put(k, v)
		}
		if err != nil {
			return fmt.Errorf("put ban %s %s: %w", ban.Jail, ban.Key, err)
		}
	}
	return nil
}

func (a *arena) putOffenders(b *bolt.Bucket, offenders []Offender) error {
	for _, o := range offenders {
		k, err := a.key(o.Jail, o.Key)
		if err != nil {
			return fmt.Errorf("put offender: %w", err)
		}
		v, err := a.add(func(dst []byte) ([]byte, error) { return encodeOffenderValue(dst, o) })
		if err == nil {
			err = b.Put(k, v)
		}
		if err != nil {
			return fmt.Errorf("put offender %s %s: %w", o.Jail, o.Key, err)
		}
	}
	return nil
}

func putPositions(b *bolt.Bucket, positions map[string]string) error {
	for src, pos := range positions {
		if src == "" || len(src) > maxSourceKey {
			return fmt.Errorf("position of source %.64q: %w: name empty or longer than %d bytes", src, ErrInvalidRecord, maxSourceKey)
		}
		var err error
		if pos == "" {
			err = b.Delete([]byte(src))
		} else {
			err = b.Put([]byte(src), []byte(pos))
		}
		if err != nil {
			return fmt.Errorf("position of source %s: %w", src, err)
		}
	}
	return nil
}
