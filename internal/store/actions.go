package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ActionRecord is what one of a jail's actions that runs behind a queue
// (flow-admin, webhook, exec) was handed of a ban, and whether it
// acknowledged it: what the action holds, as far as peerjail knows, so that
// a restart can lift what ended meanwhile and hand over again what it
// never acknowledged.
type ActionRecord struct {
	// Action is the action's config key (config.ActionSpec.Key).
	Action, Jail, Key string
	Until             time.Time
	Acked             bool
}

// ActionKey names an ActionRecord.
type ActionKey struct{ Action, Jail, Key string }

// Buckets added without a format version bump, like pending: older
// builds neither read nor check them, and Open creates them.
//
//	actions    action | 0x00 | jail | 0x00 | host key → byte flags (1: acked) | time Until
//	addrs      recordKey (as bans) → uvarint n | n × (uvarint length | prefix text)
//	escalated  recordKey (as bans) → uvarint prefix length widened from
//
// addrs holds the addresses of an identity's ban (Ban.Addrs) and escalated
// an escalated ban's EscalatedFrom apart from the ban's value, whose
// layout version 1 fixes (an older build would count a longer value as
// undecodable and drop the ban).
var (
	bucketActions   = []byte("actions")
	bucketAddrs     = []byte("addrs")
	bucketEscalated = []byte("escalated")
)

const ackedFlag = 1

func encodeActionKey(dst []byte, r ActionKey) ([]byte, error) {
	if r.Action == "" || strings.IndexByte(r.Action, 0) >= 0 || len(r.Action) > maxRecordKey {
		return nil, fmt.Errorf("action %.64q: %w: empty, longer than %d bytes or holding NUL", r.Action, ErrInvalidRecord, maxRecordKey)
	}
	dst = append(dst, r.Action...)
	dst = append(dst, 0)
	return encodeRecordKey(dst, r.Jail, r.Key)
}

func decodeActionKey(k []byte) (ActionKey, error) {
	i := bytes.IndexByte(k, 0)
	if i <= 0 {
		return ActionKey{}, errDecode
	}
	j, key, err := decodeRecordKey(k[i+1:])
	if err != nil {
		return ActionKey{}, err
	}
	return ActionKey{string(k[:i]), string(j), string(key)}, nil
}

func validAction(r ActionKey) error {
	_, err := encodeActionKey(nil, r)
	return err
}

// Actions returns every action record, sorted by action, jail and key.
func (s *Store) Actions() ([]ActionRecord, error) {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	out := map[ActionKey]ActionRecord{}
	sk := skips{bucket: bucketActions}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketActions).ForEach(func(k, v []byte) error {
			ak, err := decodeActionKey(k)
			var r ActionRecord
			if err == nil {
				r, err = decodeActionValue(ak, v)
			}
			if err != nil {
				sk.add(k, err)
				return nil
			}
			out[ak] = r
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read action records: %w", err)
	}
	s.report(sk)
	for k, r := range s.q.actions {
		if r == nil {
			delete(out, k)
		} else {
			out[k] = *r
		}
	}
	recs := slices.Collect(maps.Values(out))
	slices.SortFunc(recs, func(a, b ActionRecord) int {
		return strings.Compare(a.Action+"\x00"+a.Jail+"\x00"+a.Key, b.Action+"\x00"+b.Jail+"\x00"+b.Key)
	})
	return recs, nil
}

func decodeActionValue(k ActionKey, v []byte) (ActionRecord, error) {
	r := ActionRecord{Action: k.Action, Jail: k.Jail, Key: k.Key}
	if len(v) < 1 {
		return r, errDecode
	}
	r.Acked = v[0]&ackedFlag != 0
	until, rest, err := readTime(v[1:])
	if err != nil || len(rest) != 0 {
		return r, errDecode
	}
	r.Until = until
	return r, nil
}

func (a *arena) deleteActions(b *bolt.Bucket, keys []ActionKey) error {
	for _, k := range keys {
		key, err := a.add(func(dst []byte) ([]byte, error) { return encodeActionKey(dst, k) })
		if err == nil {
			err = b.Delete(key)
		}
		if err != nil {
			return fmt.Errorf("delete action record: %w", err)
		}
	}
	return nil
}

func (a *arena) putActions(b *bolt.Bucket, recs []ActionRecord) error {
	for _, r := range recs {
		key, err := a.add(func(dst []byte) ([]byte, error) { return encodeActionKey(dst, ActionKey{r.Action, r.Jail, r.Key}) })
		if err != nil {
			return fmt.Errorf("put action record: %w", err)
		}
		v, _ := a.add(func(dst []byte) ([]byte, error) {
			flags := byte(0)
			if r.Acked {
				flags = ackedFlag
			}
			return appendTime(append(dst, flags), r.Until), nil
		})
		if err := b.Put(key, v); err != nil {
			return fmt.Errorf("put action record %s %s %s: %w", r.Action, r.Jail, r.Key, err)
		}
	}
	return nil
}

// putAddrs merges the addresses of the bans in puts into what is stored,
// and deletes those of deleted bans first.
func (a *arena) putAddrs(b *bolt.Bucket, dels []BanKey, puts []Ban) error {
	for _, d := range dels {
		k, err := a.key(d.Jail, d.Key)
		if err == nil {
			err = b.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("delete addresses: %w", err)
		}
	}
	for _, ban := range puts {
		if len(ban.Addrs) == 0 {
			continue
		}
		k, err := a.key(ban.Jail, ban.Key)
		if err != nil {
			return fmt.Errorf("put addresses: %w", err)
		}
		old, _ := decodeAddrs(b.Get(k))
		v, _ := a.add(func(dst []byte) ([]byte, error) { return encodeAddrs(dst, mergeAddrs(old, ban.Addrs)), nil })
		if err := b.Put(k, v); err != nil {
			return fmt.Errorf("put addresses of %s %s: %w", ban.Jail, ban.Key, err)
		}
	}
	return nil
}

// mergeAddrs is the sorted union of two address lists.
func mergeAddrs(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func encodeAddrs(dst []byte, addrs []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(addrs)))
	for _, s := range addrs {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

func decodeAddrs(v []byte) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return nil, errDecode
	}
	v = v[w:]
	out := make([]string, 0, n)
	for range n {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return nil, errDecode
		}
		out = append(out, string(v[w:w+int(l)]))
		v = v[w+int(l):]
	}
	if len(v) != 0 {
		return nil, errDecode
	}
	return out, nil
}

// fillAddrs gives the bans read their stored addresses.
func (s *Store) fillAddrs(tx *bolt.Tx, bans []Ban) {
	b := tx.Bucket(bucketAddrs)
	if b == nil || b.Stats().KeyN == 0 {
		return
	}
	sk := skips{bucket: bucketAddrs}
	for i := range bans {
		k, err := encodeRecordKey(nil, bans[i].Jail, bans[i].Key)
		if err != nil {
			continue
		}
		stored, err := decodeAddrs(b.Get(k))
		if err != nil {
			sk.add(k, err)
			continue
		}
		if len(stored) > 0 {
			bans[i].Addrs = mergeAddrs(stored, bans[i].Addrs)
		}
	}
	s.report(sk)
}

// putEscalated records the EscalatedFrom of the bans in puts, clears it for
// a put without one, and deletes that of deleted bans.
func (a *arena) putEscalated(b *bolt.Bucket, dels []BanKey, puts []Ban) error {
	// An empty bucket (no escalation ever, the common case) has nothing to
	// delete: no lookup per ban.
	empty := true
	if k, _ := b.Cursor().First(); k != nil {
		empty = false
	}
	for _, d := range dels {
		if empty {
			break
		}
		k, err := a.key(d.Jail, d.Key)
		if err == nil {
			err = b.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("delete escalation: %w", err)
		}
	}
	for _, ban := range puts {
		if ban.EscalatedFrom == 0 && empty {
			continue
		}
		k, err := a.key(ban.Jail, ban.Key)
		if err != nil {
			return fmt.Errorf("put escalation: %w", err)
		}
		if ban.EscalatedFrom == 0 {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("clear escalation of %s %s: %w", ban.Jail, ban.Key, err)
			}
			continue
		}
		v, _ := a.add(func(dst []byte) ([]byte, error) { return binary.AppendUvarint(dst, uint64(ban.EscalatedFrom)), nil })
		if err := b.Put(k, v); err != nil {
			return fmt.Errorf("put escalation of %s %s: %w", ban.Jail, ban.Key, err)
		}
	}
	return nil
}

// decodeEscalated reads an escalated record: a prefix length, 1..128.
func decodeEscalated(v []byte) (int, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) || n == 0 || n > 128 {
		return 0, errDecode
	}
	return int(n), nil
}

// fillEscalated gives the bans read their stored EscalatedFrom; one the
// kept writes already say (a put not yet on disk) wins.
func (s *Store) fillEscalated(tx *bolt.Tx, bans []Ban) {
	b := tx.Bucket(bucketEscalated)
	if b == nil {
		return
	}
	if k, _ := b.Cursor().First(); k == nil {
		return
	}
	sk := skips{bucket: bucketEscalated}
	for i := range bans {
		if s.q.hasBan(BanKey{bans[i].Jail, bans[i].Key}) {
			continue
		}
		k, err := encodeRecordKey(nil, bans[i].Jail, bans[i].Key)
		if err != nil {
			continue
		}
		v := b.Get(k)
		if v == nil {
			continue
		}
		n, err := decodeEscalated(v)
		if err != nil {
			sk.add(k, err)
			continue
		}
		bans[i].EscalatedFrom = n
	}
	s.report(sk)
}
