package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An escalated ban's EscalatedFrom survives a reopen, a put that says none
// clears it, a deleted ban takes it along, and the ban's own value keeps
// format version 1's layout, which an older build decodes.
func TestEscalatedFromSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	until := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	wide := Ban{Jail: "p2p", Key: "2001:db8:7::/48", At: until.Add(-time.Hour), Until: until, Offences: 1, EscalatedFrom: 64}
	plain := Ban{Jail: "p2p", Key: "2001:db8:9:1::/64", At: until.Add(-time.Hour), Until: until.Add(time.Minute), Offences: 1}
	mustUpdate(t, s, Batch{PutBans: []Ban{wide, plain}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		var b Ban
		if err := decodeBanValue(tx.Bucket(bucketBans).Get([]byte("p2p\x002001:db8:7::/48")), &b); err != nil || !b.Until.Equal(until) {
			t.Errorf("the ban's value as version 1 decodes it: %+v, %v", b, err)
		}
		return nil
	})
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bans := mustBans(t, s)
	if len(bans) != 2 || bans[0].EscalatedFrom != 64 || bans[1].EscalatedFrom != 0 {
		t.Fatalf("after reopen %+v: want the /48 widened from /64, the /64 not", bans)
	}

	// Kept while the disk is full: the queued put is what Bans says.
	s.retryEvery = 0
	s.failWrite = func() error { return errors.New("no space left on device") }
	plainAgain := wide
	plainAgain.EscalatedFrom = 0
	if err := s.Update(Batch{PutBans: []Ban{plainAgain}}); !errors.Is(err, ErrBehind) {
		t.Fatalf("update: %v, want ErrBehind", err)
	}
	if bans := mustBans(t, s); bans[0].EscalatedFrom != 0 {
		t.Errorf("while behind %+v: the kept put without escalation wins over the file", bans[0])
	}
	s.failWrite = nil
	mustUpdate(t, s, Batch{})
	if bans := mustBans(t, s); bans[0].EscalatedFrom != 0 {
		t.Errorf("after catching up %+v: a put without escalation clears it", bans[0])
	}

	mustUpdate(t, s, Batch{PutBans: []Ban{wide}})
	mustUpdate(t, s, Batch{DeleteBans: []BanKey{{wide.Jail, wide.Key}}})
	mustUpdate(t, s, Batch{PutBans: []Ban{plainAgain}})
	if bans := mustBans(t, s); bans[0].EscalatedFrom != 0 {
		t.Errorf("%+v: a ban deleted and made again starts without escalation", bans[0])
	}
}

// A file written before the escalated bucket existed opens (the bucket is
// created) and reads its bans unescalated; a damaged record is skipped and
// counted, its ban kept.
func TestEscalatedOldFileAndDamage(t *testing.T) {
	s, path := openTemp(t)
	until := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	mustUpdate(t, s, Batch{PutBans: []Ban{{Jail: "p2p", Key: "2001:db8:7::/48", Until: until, Offences: 1, EscalatedFrom: 64}}})
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketEscalated) })
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bans := mustBans(t, s); len(bans) != 1 || bans[0].EscalatedFrom != 0 {
		t.Errorf("a file of an older build: %+v, want the ban without escalation", bans)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEscalated).Put([]byte("p2p\x002001:db8:7::/48"), []byte{200, 1})
	})
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if bans := mustBans(t, s); len(bans) != 1 || bans[0].EscalatedFrom != 0 || s.Skipped() != 1 {
		t.Errorf("a damaged record: %+v, skipped %d; want the ban unescalated and 1 skipped", bans, s.Skipped())
	}
}
