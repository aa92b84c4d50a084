package fleet

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Envelope is one report waiting to be published: its subject, its body,
// and the message ID that lets the stream drop a copy sent twice (a publish
// whose acknowledgement was lost is sent again).
type Envelope struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Data    []byte `json:"data"`
}

// Queued is an envelope in the outbox, in the order it was put.
type Queued struct {
	Seq uint64
	Envelope
}

// Outbox keeps reports until the stream has acknowledged them, across
// restarts.
type Outbox interface {
	// Put appends es in order, in one write; when the outbox is full it
	// drops the oldest reports (of es too, when they alone overflow it)
	// and says how many.
	Put(es ...Envelope) (dropped int, err error)
	// Peek returns up to n of the oldest reports.
	Peek(n int) ([]Queued, error)
	// Delete removes reports by Seq, once acknowledged.
	Delete(seqs []uint64) error
	Len() int
}

// OutboxBucket is the bucket BoltOutbox keeps its reports in.
const OutboxBucket = "fleet-outbox"

// DefaultOutboxSize bounds the outbox: a day of a busy host's bans.
const DefaultOutboxSize = 100_000

// BoltOutbox is an Outbox in a bucket of a bbolt file; the daemon shares
// its store's file.
type BoltOutbox struct {
	db    *bolt.DB
	own   bool // opened by OpenBoltOutbox, closed by Close
	max   int
	mu    sync.Mutex // keeps n true between a Put and a Delete
	n     int
	close sync.Once
}

// NewBoltOutbox keeps the outbox in db, which the caller closes, with room
// for max reports (DefaultOutboxSize when max is 0).
func NewBoltOutbox(db *bolt.DB, max int) (*BoltOutbox, error) {
	if max <= 0 {
		max = DefaultOutboxSize
	}
	o := &BoltOutbox{db: db, max: max}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(OutboxBucket))
		if err != nil {
			return err
		}
		o.n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open fleet outbox in %s: %w", db.Path(), err)
	}
	return o, nil
}

// OpenBoltOutbox opens (or creates) the bbolt file at path for the outbox
// alone; Close closes it.
func OpenBoltOutbox(path string, max int) (*BoltOutbox, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open fleet outbox %s: %w", path, err)
	}
	o, err := NewBoltOutbox(db, max)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	o.own = true
	return o, nil
}

// Close closes the file if OpenBoltOutbox opened it.
func (o *BoltOutbox) Close() error {
	var err error
	if o.own {
		o.close.Do(func() { err = o.db.Close() })
	}
	return err
}

func (o *BoltOutbox) Put(es ...Envelope) (int, error) {
	if len(es) == 0 {
		return 0, nil
	}
	// More than the outbox holds: the oldest of them are dropped unwritten.
	skipped := max(len(es)-o.max, 0)
	es = es[skipped:]
	data := make([][]byte, len(es))
	for i, e := range es {
		var err error
		if data[i], err = json.Marshal(e); err != nil {
			return 0, fmt.Errorf("queue report %s: %w", e.ID, err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	dropped := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(OutboxBucket))
		c := b.Cursor()
		for k, _ := c.First(); k != nil && o.n-dropped+len(es) > o.max; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			dropped++
		}
		for _, d := range data {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue %d reports from %s: %w", len(es), es[0].ID, err)
	}
	o.n += len(es) - dropped
	return dropped + skipped, nil
}

func (o *BoltOutbox) Peek(n int) ([]Queued, error) {
	var out []Queued
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(OutboxBucket)).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			q := Queued{Seq: binary.BigEndian.Uint64(k)}
			if err := json.Unmarshal(v, &q.Envelope); err != nil {
				return fmt.Errorf("report %d: %w", q.Seq, err)
			}
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read fleet outbox: %w", err)
	}
	return out, nil
}

func (o *BoltOutbox) Delete(seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	deleted := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(OutboxBucket))
		for _, s := range seqs {
			k := binary.BigEndian.AppendUint64(nil, s)
			if b.Get(k) == nil {
				continue // dropped as oldest while it was being sent
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %d sent reports from the fleet outbox: %w", len(seqs), err)
	}
	o.n -= deleted
	return nil
}

func (o *BoltOutbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// MemOutbox is an Outbox in memory, lost with the process: for tests, and
// for a daemon run without a store.
type MemOutbox struct {
	mu   sync.Mutex
	max  int
	next uint64
	q    []Queued
}

// NewMemOutbox holds up to max reports (DefaultOutboxSize when 0).
func NewMemOutbox(max int) *MemOutbox {
	if max <= 0 {
		max = DefaultOutboxSize
	}
	return &MemOutbox{max: max}
}

func (o *MemOutbox) Put(es ...Envelope) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range es {
		o.next++
		o.q = append(o.q, Queued{Seq: o.next, Envelope: e})
	}
	dropped := max(len(o.q)-o.max, 0)
	o.q = slices.Clone(o.q[dropped:])
	return dropped, nil
}

func (o *MemOutbox) Peek(n int) ([]Queued, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.q[:min(n, len(o.q))]), nil
}

func (o *MemOutbox) Delete(seqs []uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	gone := make(map[uint64]bool, len(seqs))
	for _, s := range seqs {
		gone[s] = true
	}
	o.q = slices.DeleteFunc(o.q, func(q Queued) bool { return gone[q.Seq] })
	return nil
}

func (o *MemOutbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q)
}
