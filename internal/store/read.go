package store

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Ban is an active ban of a host key (an address, a prefix such as
// "2001:db8:1:2::/64", or a peer ID) in a jail.
type Ban struct {
	Jail, Key string
	At, Until time.Time
	Offences  int // how many times this key has been banned, this ban included
	// Addrs are, for a ban of an identity, the addresses (prefixes in
	// text) its address actions ban with it. A put merges them with those
	// stored: a later decision adds addresses, never removes one.
	Addrs []string
	// Source is "fleet" for a ban the fleet's quorum decided, "" for a
	// local one; Reporters are then the reporters that made the quorum.
	Source    string
	Reporters []string
	// EscalatedFrom is, for an IPv6 prefix that ipv6_escalation widened
	// the ban to, the prefix length it was widened from; 0 otherwise.
	// Every put states it: a put with 0 clears what was stored.
	EscalatedFrom int
}

// Offender is the ban history of a host key in a jail: the daemon grows the
// ban time of repeat offenders from it.
type Offender struct {
	Jail, Key string
	Offences  int
	Last      time.Time // start of the latest ban
}

// BanKey names a ban.
type BanKey struct{ Jail, Key string }

// skips counts undecodable records met by one read and reports them once.
type skips struct {
	bucket []byte
	n      int
	first  error
}

func (k *skips) add(key []byte, err error) {
	if k.n == 0 {
		k.first = fmt.Errorf("key %x: %w", key, err)
	}
	k.n++
}

func (s *Store) report(k skips) {
	if k.n == 0 {
		return
	}
	s.skipped.Add(uint64(k.n))
	s.log.Warn("skipped undecodable state records", "bucket", string(k.bucket), "count", k.n, "err", k.first)
}

// Bans returns every stored ban, expired ones included until Prune drops
// them, sorted by Until, then jail, then key.
func (s *Store) Bans() ([]Ban, error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	sc := banScan{skips: skips{bucket: bucketBans}}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBans)
		sc.grow(b.Stats().KeyN)
		return b.ForEach(sc.add)
	})
	if err != nil {
		return nil, fmt.Errorf("read bans: %w", err)
	}
	s.report(sc.skips)
	bans := s.q.overlayBans(sc.sorted())
	if err := s.view(func(tx *bolt.Tx) error { s.fillAddrs(tx, bans); s.fillEscalated(tx, bans); return nil }); err != nil {
		return nil, fmt.Errorf("read ban addresses: %w", err)
	}
	return bans, nil
}

// sortBans sorts as Bans documents: by Until, then jail, then key.
func sortBans(bans []Ban) {
	slices.SortFunc(bans, func(a, b Ban) int {
		return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key))
	})
}

// banScan collects bans cheaply enough for start-up with 100,000 of them:
// all jail and key text goes into one buffer that becomes one string, and
// the sort moves 16-byte entries instead of whole Bans.
type banScan struct {
	bans  []Ban
	spans []span
	text  []byte
	skips skips
}

// span locates a ban's record key in banScan.text.
type span struct{ start, sep, end int }

// grow sizes the buffers for n bans: counting pages is far cheaper than
// regrowing 100,000-entry slices.
func (sc *banScan) grow(n int) {
	sc.bans = make([]Ban, 0, n)
	sc.spans = make([]span, 0, n)
	sc.text = make([]byte, 0, n*24)
}

func (sc *banScan) add(k, v []byte) error {
	jail, _, err := decodeRecordKey(k)
	var b Ban
	if err == nil {
		err = decodeBanValue(v, &b)
	}
	if err != nil {
		sc.skips.add(k, err)
		return nil
	}
	start := len(sc.text)
	sc.text = append(sc.text, k...)
	sc.spans = append(sc.spans, span{start, start + len(jail), len(sc.text)})
	sc.bans = append(sc.bans, b)
	return nil
}

func (sc *banScan) sorted() []Ban {
	text := string(sc.text)
	type entry struct {
		sec       int64
		nsec, idx int32
	}
	order := make([]entry, len(sc.bans))
	for i, sp := range sc.spans {
		b := &sc.bans[i]
		b.Jail, b.Key = text[sp.start:sp.sep], text[sp.sep+1:sp.end]
		order[i] = entry{b.Until.Unix(), int32(b.Until.Nanosecond()), int32(i)}
	}
	// Scan order is (jail, key) order, so idx breaks ties the documented way.
	slices.SortFunc(order, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.nsec, b.nsec), cmp.Compare(a.idx, b.idx))
	})
	out := make([]Ban, len(order))
	for i, e := range order {
		out[i] = sc.bans[e.idx]
	}
	return out
}

// Offenders returns the history of one jail, or of every jail when jail is
// empty, sorted by jail and key (bbolt's order).
func (s *Store) Offenders(jail string) ([]Offender, error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	var out []Offender
	sk := skips{bucket: bucketOffenders}
	var prefix []byte
	if jail != "" {
		prefix = jailPrefix(jail)
	}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOffenders).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			j, key, err := decodeRecordKey(k)
			if err == nil {
				o := Offender{Jail: string(j), Key: string(key)}
				if err = decodeOffenderValue(v, &o); err == nil {
					out = append(out, o)
				}
			}
			if err != nil {
				sk.add(k, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read offenders: %w", err)
	}
	s.report(sk)
	return s.q.overlayOffenders(jail, out), nil
}

// Position returns the saved position of a source; ok is false when none
// is saved.
func (s *Store) Position(source string) (pos string, ok bool, err error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if p, queued := s.q.positions[source]; queued {
		return p, p != "", nil
	}
	err = s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketPositions).Get([]byte(source)); v != nil {
			pos, ok = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("read position of %s: %w", source, err)
	}
	return pos, ok, nil
}

// Positions returns every saved source position.
func (s *Store) Positions() (map[string]string, error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	out := make(map[string]string)
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPositions).ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read positions: %w", err)
	}
	for src, pos := range s.q.positions {
		if pos == "" {
			delete(out, src)
		} else {
			out[src] = pos
		}
	}
	return out, nil
}
