package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prune drops, in one transaction, the bans whose Until is at or before now
// and the offenders whose Last is more than retention before now
// (retention <= 0 keeps all history). Records that cannot be decoded are
// dropped too: under the same format version they are damage, not data.
// Undecodable chunks of pending windows go too. It returns how many ban
// and offender records it removed.
//
// Prune writes the file directly, not through the queue of failed
// Updates: a kept ban it does not see is written by the next Update and
// pruned by a later Prune.
func (s *Store) Prune(now time.Time, retention time.Duration) (bans, offenders int, err error) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	bansSkip := skips{bucket: bucketBans}
	offSkip := skips{bucket: bucketOffenders}
	pendSkip := skips{bucket: bucketPending}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		bans, err = prune(tx, bucketBans, &bansSkip, func(v []byte) (bool, error) {
			var b Ban
			err := decodeBanValue(v, &b)
			return !b.Until.After(now), err
		})
		if err != nil {
			return err
		}
		cutoff := now.Add(-retention)
		offenders, err = prune(tx, bucketOffenders, &offSkip, func(v []byte) (bool, error) {
			var o Offender
			err := decodeOffenderValue(v, &o)
			return retention > 0 && o.Last.Before(cutoff), err
		})
		if err != nil {
			return err
		}
		_, err = prune(tx, bucketPending, &pendSkip, func(v []byte) (bool, error) {
			_, err := decodePendingChunk(v)
			return false, err
		})
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("prune state: %w", err)
	}
	s.report(bansSkip)
	s.report(offSkip)
	s.report(pendSkip)
	return bans, offenders, nil
}

// prune deletes the records that expired says are expired or that cannot
// be decoded (counted in sk). Keys are collected first because deleting
// under a bbolt cursor can skip the next record.
func prune(tx *bolt.Tx, name []byte, sk *skips, expired func(v []byte) (bool, error)) (int, error) {
	b := tx.Bucket(name)
	var drop [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			// A nested bucket is not ours to delete; reads skip it too.
			sk.add(k, errDecode)
			return nil
		}
		old, err := expired(v)
		if err == nil {
			_, _, err = decodeRecordKey(k)
		}
		if err != nil {
			sk.add(k, err)
		}
		if old || err != nil {
			drop = append(drop, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("delete %s record %x: %w", name, k, err)
		}
	}
	return len(drop), nil
}
