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
// them, sorted by Until (then jail and key).
func (s *Store) Bans() ([]Ban, error) {
	var bans []Ban
	sk := skips{bucket: bucketBans}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBans)
		var jails interner
		return b.ForEach(func(k, v []byte) error {
			jail, key, err := decodeRecordKey(k)
			if err == nil {
				bans = append(bans, Ban{Jail: jails.get(jail), Key: string(key)})
				if err = decodeBanValue(v, &bans[len(bans)-1]); err != nil {
					bans = bans[:len(bans)-1]
				}
			}
			if err != nil {
				sk.add(k, err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read bans: %w", err)
	}
	s.report(sk)
	slices.SortFunc(bans, func(a, b Ban) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key))
	})
	return bans, nil
}

// Offenders returns the history of one jail, or of every jail when jail is
// empty, sorted by jail and key.
func (s *Store) Offenders(jail string) ([]Offender, error) {
	var out []Offender
	sk := skips{bucket: bucketOffenders}
	var prefix []byte
	if jail != "" {
		prefix = jailPrefix(jail)
	}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOffenders).Cursor()
		var jails interner
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			j, key, err := decodeRecordKey(k)
			if err == nil {
				o := Offender{Jail: jails.get(j), Key: string(key)}
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
	slices.SortFunc(out, func(a, b Offender) int {
		return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// Position returns the saved position of a source; ok is false when none
// is saved.
func (s *Store) Position(source string) (pos string, ok bool, err error) {
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
	return out, nil
}
