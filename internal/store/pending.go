package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PendingHost is a host's recent hits in a jail's window: the hits not yet
// enough for a ban, which a restart would otherwise forget.
type PendingHost struct {
	Key  string
	Hits []time.Time
}

// The pending bucket holds each jail's windows as chunks:
//
//	pending  jail | 0x00 | uint32 chunk number (big endian) → chunk
//	chunk    uvarint hosts | varint base (Unix ns) | host...
//	host     uvarint key length | key | uvarint hits | varint first hit − base (ns) | uvarint gap to the previous hit (ns)...
//
// Hits are sorted, so all but the first are small non-negative gaps: a host
// with 5 hits over a few seconds costs its key plus about 25 bytes. Chunks
// of pendingChunkHosts hosts keep each bbolt value small: one value of a
// whole jail (tens of MB at maxhosts 1,000,000) would need a contiguous run
// of pages on every save. A jail's windows are replaced as a whole, in the
// transaction of the Update that carries them.
//
// The bucket was added without a format version bump: older builds neither
// read nor check it, and Open creates it in a file that lacks it.
const (
	pendingChunkHosts = 1024
	// maxPendingHits bounds a host's hits as stored; a window longer than
	// this keeps its latest hits. maxretry is far below it in any sane
	// configuration.
	maxPendingHits = 1 << 12
	// MaxPendingBytes bounds the encoded windows of one jail. Past it the
	// windows with the most recent hits are kept: they are the closest to
	// a ban. At ~45 bytes a host it is about 700,000 hosts.
	MaxPendingBytes = 32 << 20
)

// Pending returns the saved windows of a jail, in no particular order.
// Undecodable chunks are skipped, counted in Skipped and logged once.
func (s *Store) Pending(jail string) ([]PendingHost, error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if ps, queued := s.q.pending[jail]; queued {
		return slices.Clone(ps), nil
	}
	var out []PendingHost
	sk := skips{bucket: bucketPending}
	prefix := jailPrefix(jail)
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			hosts, err := decodePendingChunk(v)
			if err != nil || len(k) != len(prefix)+4 {
				sk.add(k, cmp.Or(err, errDecode))
				continue
			}
			out = append(out, hosts...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pending windows of %s: %w", jail, err)
	}
	s.report(sk)
	return out, nil
}

// putPending replaces the windows of each jail in ps.
func putPending(b *bolt.Bucket, ps map[string][]PendingHost) error {
	for jail, hosts := range ps {
		if err := deletePending(b, jail); err != nil {
			return err
		}
		for i, c := range encodePending(hosts) {
			k := binary.BigEndian.AppendUint32(jailPrefix(jail), uint32(i))
			if err := b.Put(k, c); err != nil {
				return fmt.Errorf("pending windows of %s: %w", jail, err)
			}
		}
	}
	return nil
}

func deletePending(b *bolt.Bucket, jail string) error {
	prefix := jailPrefix(jail)
	var drop [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		drop = append(drop, append([]byte(nil), k...))
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete pending windows of %s: %w", jail, err)
		}
	}
	return nil
}

// encodePending encodes hosts in chunks, within MaxPendingBytes.
func encodePending(hosts []PendingHost) [][]byte {
	hosts = slices.Clone(hosts)
	for i := range hosts {
		h := &hosts[i]
		if h.Key == "" || len(h.Key) > maxRecordKey {
			h.Hits = nil // dropped below: a window is worth less than the batch that carries it
			continue
		}
		h.Hits = slices.DeleteFunc(slices.Clone(h.Hits), outOfRange)
		if !slices.IsSortedFunc(h.Hits, time.Time.Compare) {
			h.Hits = slices.SortedFunc(slices.Values(h.Hits), time.Time.Compare)
		}
		if len(h.Hits) > maxPendingHits {
			h.Hits = h.Hits[len(h.Hits)-maxPendingHits:]
		}
	}
	hosts = slices.DeleteFunc(hosts, func(h PendingHost) bool { return len(h.Hits) == 0 })
	if estimate(hosts) > MaxPendingBytes {
		// Latest last hit first; the cut below then drops the oldest windows.
		slices.SortFunc(hosts, func(a, b PendingHost) int { return b.Hits[len(b.Hits)-1].Compare(a.Hits[len(a.Hits)-1]) })
	}
	var chunks [][]byte
	total := 0
	for len(hosts) > 0 && total < MaxPendingBytes {
		n := min(len(hosts), pendingChunkHosts)
		c := encodePendingChunk(hosts[:n])
		total += len(c)
		chunks = append(chunks, c)
		hosts = hosts[n:]
	}
	return chunks
}

// outOfRange reports a hit that UnixNano cannot hold in [0, MaxInt64]: no
// log line of a running system is dated before 1970 or after 2262, and the
// range keeps every difference between two hits within int64.
func outOfRange(t time.Time) bool {
	return t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, math.MaxInt64))
}

// estimate is an upper bound of the encoded size of hosts.
func estimate(hosts []PendingHost) int {
	n := 0
	for _, h := range hosts {
		n += len(h.Key) + 2*binary.MaxVarintLen64 + binary.MaxVarintLen64*len(h.Hits)
	}
	return n
}

func encodePendingChunk(hosts []PendingHost) []byte {
	base := hosts[0].Hits[0].UnixNano()
	dst := binary.AppendUvarint(nil, uint64(len(hosts)))
	dst = binary.AppendVarint(dst, base)
	for _, h := range hosts {
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(h.Hits)))
		prev := h.Hits[0].UnixNano()
		dst = binary.AppendVarint(dst, prev-base)
		for _, t := range h.Hits[1:] {
			ns := t.UnixNano()
			dst = binary.AppendUvarint(dst, uint64(ns-prev))
			prev = ns
		}
	}
	return dst
}

// decodePendingChunk trusts no length in b: every count is checked against
// the bytes left before anything is allocated.
func decodePendingChunk(b []byte) ([]PendingHost, error) {
	n, w := binary.Uvarint(b)
	// A host takes at least 4 bytes (key length, a key byte, count, first hit).
	if w <= 0 || n == 0 || n > uint64(len(b))/4 || n > pendingChunkHosts {
		return nil, errDecode
	}
	b = b[w:]
	base, w := binary.Varint(b)
	if w <= 0 || base < 0 {
		return nil, errDecode
	}
	b = b[w:]
	out := make([]PendingHost, 0, n)
	for range n {
		var h PendingHost
		var err error
		if h, b, err = decodePendingHost(b, base); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if len(b) != 0 {
		return nil, errDecode
	}
	return out, nil
}

func decodePendingHost(b []byte, base int64) (PendingHost, []byte, error) {
	kl, w := binary.Uvarint(b)
	if w <= 0 || kl == 0 || kl > maxRecordKey || kl > uint64(len(b)-w) {
		return PendingHost{}, nil, errDecode
	}
	h := PendingHost{Key: string(b[w : w+int(kl)])}
	b = b[w+int(kl):]
	nh, w := binary.Uvarint(b)
	if w <= 0 || nh == 0 || nh > maxPendingHits || nh > uint64(len(b)-w) {
		return PendingHost{}, nil, errDecode
	}
	b = b[w:]
	first, w := binary.Varint(b)
	if w <= 0 || !addOK(base, first) || base+first < 0 {
		return PendingHost{}, nil, errDecode
	}
	b = b[w:]
	ns := base + first
	h.Hits = make([]time.Time, 0, nh)
	h.Hits = append(h.Hits, time.Unix(0, ns).UTC())
	for range nh - 1 {
		gap, w := binary.Uvarint(b)
		if w <= 0 || gap > math.MaxInt64 || !addOK(ns, int64(gap)) {
			return PendingHost{}, nil, errDecode
		}
		b = b[w:]
		ns += int64(gap)
		h.Hits = append(h.Hits, time.Unix(0, ns).UTC())
	}
	return h, b, nil
}

// addOK reports whether a+b stays within int64.
func addOK(a, b int64) bool {
	return !(b > 0 && a > math.MaxInt64-b || b < 0 && a < math.MinInt64-b)
}

// validPending checks the jail names. A host whose key the store cannot
// hold (empty, or longer than a record key may be) is dropped when the
// windows are encoded instead: one odd identity must not fail the batch of
// bans that carries the windows.
func validPending(ps map[string][]PendingHost) error {
	for jail := range ps {
		if _, err := encodeRecordKey(nil, jail, "k"); err != nil {
			return fmt.Errorf("pending windows: %w", err)
		}
	}
	return nil
}
