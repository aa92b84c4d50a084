package store

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFailedUpdatesAreKeptAndRetried fails commits as a full disk does and
// checks that nothing is lost: reads see the kept writes, a later write of
// the same record wins, and the first Update that can write saves it all.
func TestFailedUpdatesAreKeptAndRetried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peerjail.db")
	var logs bytes.Buffer
	s, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ban := func(key string, until time.Duration) Ban {
		return Ban{Jail: "sshd", Key: key, At: t0, Until: t0.Add(until), Offences: 1}
	}
	mustUpdate(t, s, Batch{PutBans: []Ban{ban("203.0.113.1", time.Hour), ban("203.0.113.2", time.Hour)}, Positions: map[string]string{"/log": "1"}})

	full := true
	s.retryEvery = 0
	s.failWrite = func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	}
	failing := []Batch{
		{PutBans: []Ban{ban("203.0.113.3", time.Hour)}, PutOffenders: []Offender{{Jail: "sshd", Key: "203.0.113.3", Offences: 1, Last: t0}}, Positions: map[string]string{"/log": "2"}},
		{DeleteBans: []BanKey{{"sshd", "203.0.113.1"}}, PutBans: []Ban{ban("203.0.113.4", time.Hour)}, Positions: map[string]string{"/log": "3"}},
		// A re-ban of .3 and a delete then put of .4 in one batch: the put wins.
		{DeleteBans: []BanKey{{"sshd", "203.0.113.4"}}, PutBans: []Ban{ban("203.0.113.3", 2*time.Hour), ban("203.0.113.4", 3*time.Hour)},
			Pending: map[string][]PendingHost{"sshd": {{Key: "198.51.100.7", Hits: []time.Time{t0, t0.Add(time.Second)}}}}},
		{},
	}
	for i, b := range failing {
		if err := s.Update(b); !errors.Is(err, ErrBehind) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Update %d on a full disk: %v, want ErrBehind wrapping ENOSPC", i, err)
		}
	}
	want := []Ban{ban("203.0.113.2", time.Hour), ban("203.0.113.3", 2*time.Hour), ban("203.0.113.4", 3*time.Hour)}
	check := func(when string, s *Store) {
		t.Helper()
		if got := mustBans(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: bans %+v, want %+v", when, got, want)
		}
		if pos, ok, err := s.Position("/log"); pos != "3" || !ok || err != nil {
			t.Errorf("%s: position %q, %v, %v; want 3", when, pos, ok, err)
		}
		if offs, err := s.Offenders("sshd"); err != nil || len(offs) != 1 || offs[0].Key != "203.0.113.3" {
			t.Errorf("%s: offenders %+v, %v", when, offs, err)
		}
		if ps, err := s.Pending("sshd"); err != nil || len(ps) != 1 || len(ps[0].Hits) != 2 {
			t.Errorf("%s: pending %+v, %v", when, ps, err)
		}
	}
	check("while behind", s)
	// .3 put, .3 offender, .4 put, .1 delete, /log, sshd's windows.
	if n := s.Behind(); n != 6 {
		t.Errorf("Behind = %d, want 6 records", n)
	}
	if n := s.Errors(); n != 4 {
		t.Errorf("Errors = %d, want 4", n)
	}

	full = false
	mustUpdate(t, s, Batch{})
	if n := s.Behind(); n != 0 {
		t.Errorf("Behind after the disk has room = %d, want 0", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), "state store is behind"); got != 1 {
		t.Errorf("%d warnings that the store is behind, want 1 for 4 failed writes:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "state store caught up") {
		t.Errorf("no message that the store caught up:\n%s", logs.String())
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("after reopening", s)
}

// TestInvalidBatchIsNotKept: a batch that can never be written must not sit
// in the queue and fail every later write.
func TestInvalidBatchIsNotKept(t *testing.T) {
	s, _ := openTemp(t)
	s.failWrite = func() error { return syscall.EIO }
	if err := s.Update(Batch{PutBans: []Ban{{Jail: "sshd"}}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("Update of an empty key: %v, want ErrInvalidRecord", err)
	}
	if n := s.Behind(); n != 0 {
		t.Errorf("Behind = %d after an invalid batch, want 0", n)
	}
}

func TestCloseSaysWhatItCouldNotSave(t *testing.T) {
	s, _ := openTemp(t)
	s.failWrite = func() error { return syscall.ENOSPC }
	if err := s.Update(Batch{Positions: map[string]string{"/log": "9"}}); !errors.Is(err, ErrBehind) {
		t.Fatal(err)
	}
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "1 records never saved") {
		t.Errorf("Close while behind: %v, want the records it lost", err)
	}
}
