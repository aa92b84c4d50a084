package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestActionRecordsSurviveReopen(t *testing.T) {
	s, path := openTemp(t)
	until := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	fa := "flow-admin http://127.0.0.1:9002"
	mustUpdate(t, s, Batch{
		PutBans: []Ban{{Jail: "flow", Key: "node1", At: until.Add(-time.Hour), Until: until, Offences: 1, Addrs: []string{"192.0.2.7", "192.0.2.1"}}},
		PutActions: []ActionRecord{
			{Action: fa, Jail: "flow", Key: "node1", Until: until},
			{Action: fa, Jail: "flow", Key: "node2", Until: until, Acked: true},
		},
	})
	// A later decision adds an address and acknowledges node1; node2's
	// unban was acknowledged.
	mustUpdate(t, s, Batch{
		PutBans:       []Ban{{Jail: "flow", Key: "node1", At: until.Add(-time.Hour), Until: until, Offences: 1, Addrs: []string{"198.51.100.9", "192.0.2.7"}}},
		PutActions:    []ActionRecord{{Action: fa, Jail: "flow", Key: "node1", Until: until, Acked: true}},
		DeleteActions: []ActionKey{{fa, "flow", "node2"}},
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.Actions()
	if err != nil {
		t.Fatal(err)
	}
	if want := []ActionRecord{{Action: fa, Jail: "flow", Key: "node1", Until: until, Acked: true}}; !reflect.DeepEqual(recs, want) {
		t.Errorf("records %+v\nwant    %+v", recs, want)
	}
	bans := mustBans(t, s)
	if len(bans) != 1 || !reflect.DeepEqual(bans[0].Addrs, []string{"192.0.2.1", "192.0.2.7", "198.51.100.9"}) {
		t.Errorf("bans %+v: want node1 with the three addresses merged", bans)
	}
	mustUpdate(t, s, Batch{DeleteBans: []BanKey{{"flow", "node1"}}})
	mustUpdate(t, s, Batch{PutBans: []Ban{{Jail: "flow", Key: "node1", Until: until, Offences: 2}}})
	if bans := mustBans(t, s); len(bans) != 1 || bans[0].Addrs != nil {
		t.Errorf("bans %+v: a ban deleted and made again starts without addresses", bans)
	}
}

// Records written while the disk is full are kept and read back, and
// written with the next Update that works.
func TestActionRecordsKeptWhileBehind(t *testing.T) {
	s, _ := openTemp(t)
	s.retryEvery = 0
	full := errors.New("no space left on device")
	s.failWrite = func() error { return full }
	r := ActionRecord{Action: "webhook https://example.org/", Jail: "j", Key: "192.0.2.1", Until: time.Unix(1e9, 0).UTC()}
	if err := s.Update(Batch{PutActions: []ActionRecord{r}}); !errors.Is(err, ErrBehind) {
		t.Fatalf("update: %v, want ErrBehind", err)
	}
	if recs, _ := s.Actions(); !reflect.DeepEqual(recs, []ActionRecord{r}) {
		t.Errorf("while behind: %+v", recs)
	}
	s.failWrite = nil
	mustUpdate(t, s, Batch{})
	if recs, _ := s.Actions(); !reflect.DeepEqual(recs, []ActionRecord{r}) || s.Behind() != 0 {
		t.Errorf("after catching up: %+v, behind %d", recs, s.Behind())
	}
}

func TestActionRecordInvalid(t *testing.T) {
	s, _ := openTemp(t)
	for _, r := range []ActionRecord{{Jail: "j", Key: "k"}, {Action: "a\x00b", Jail: "j", Key: "k"}, {Action: "a", Key: "k"}} {
		if err := s.Update(Batch{PutActions: []ActionRecord{r}}); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%+v: %v, want ErrInvalidRecord", r, err)
		}
	}
}
