package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// openTemp opens a fresh store in a temporary directory; it is closed when
// the test ends unless the test closes it first.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "peerjail.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func mustUpdate(t testing.TB, s *Store, b Batch) {
	t.Helper()
	if err := s.Update(b); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustBans(t testing.TB, s *Store) []Ban {
	t.Helper()
	bans, err := s.Bans()
	if err != nil {
		t.Fatalf("Bans: %v", err)
	}
	return bans
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	_, path := openTemp(t)
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
		}
	}
}

func TestBansRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	local := time.FixedZone("X", 3600)
	in := []Ban{
		{Jail: "sshd", Key: "203.0.113.7", At: t0, Until: t0.Add(time.Hour), Offences: 1},
		{Jail: "libp2p", Key: "2001:db8:1:2::/64", At: t0.In(local), Until: t0.Add(10 * time.Minute).In(local), Offences: 3},
		{Jail: "libp2p", Key: "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp", At: t0.Add(-time.Hour + 123456789), Until: t0.Add(-time.Hour + 90*time.Second + 1), Offences: 1 << 30},
		{Jail: "j odd", Key: "key with\x00NUL", Until: t0.Add(5 * time.Minute)}, // zero At
	}
	mustUpdate(t, s, Batch{PutBans: in})
	got := mustBans(t, s)
	want := []Ban{in[2], in[3], in[1], in[0]} // by Until
	if len(got) != len(want) {
		t.Fatalf("got %d bans, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !sameBan(got[i], want[i]) {
			t.Errorf("ban %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func sameBan(a, b Ban) bool {
	return a.Jail == b.Jail && a.Key == b.Key && a.At.Equal(b.At) && a.Until.Equal(b.Until) && a.Offences == b.Offences
}

func TestBansSortTiesByJailAndKey(t *testing.T) {
	s, _ := openTemp(t)
	until := t0.Add(time.Hour)
	mustUpdate(t, s, Batch{PutBans: []Ban{
		{Jail: "b", Key: "2", Until: until}, {Jail: "ab", Key: "0", Until: until}, {Jail: "a", Key: "9", Until: until},
		{Jail: "b", Key: "1", Until: until}, {Jail: "a", Key: "1", Until: until.Add(time.Second)},
	}})
	var got []string
	for _, b := range mustBans(t, s) {
		got = append(got, b.Jail+"/"+b.Key)
	}
	want := []string{"a/9", "ab/0", "b/1", "b/2", "a/1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestOffendersRoundTripAndJailFilter(t *testing.T) {
	s, _ := openTemp(t)
	in := []Offender{
		{Jail: "sshd", Key: "198.51.100.1", Offences: 2, Last: t0},
		{Jail: "sshd", Key: "198.51.100.2", Offences: 7, Last: t0.Add(time.Hour)},
		{Jail: "sshd2", Key: "198.51.100.1", Offences: 1, Last: t0},
		{Jail: "ssh", Key: "dsshd-looks-like-a-prefix", Offences: 1, Last: t0},
	}
	mustUpdate(t, s, Batch{PutOffenders: in})
	tests := []struct {
		jail string
		want []Offender
	}{
		{"sshd", in[:2]},
		{"sshd2", in[2:3]},
		{"ssh", in[3:]},
		{"nope", nil},
		{"", []Offender{in[3], in[0], in[1], in[2]}},
	}
	for _, tt := range tests {
		got, err := s.Offenders(tt.jail)
		if err != nil {
			t.Fatalf("Offenders(%q): %v", tt.jail, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Offenders(%q) = %+v, want %+v", tt.jail, got, tt.want)
		}
	}
}

func TestPositionsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	in := map[string]string{
		"/var/log/auth.log":                  "offset=1234 inode=99 dev=2049",
		"journal:_SYSTEMD_UNIT=ipfs.service": "s=abc;i=1f;b=def;m=12;t=5f;x=7",
	}
	mustUpdate(t, s, Batch{Positions: in})
	for src, want := range in {
		got, ok, err := s.Position(src)
		if err != nil || !ok || got != want {
			t.Errorf("Position(%q) = %q, %v, %v; want %q", src, got, ok, err, want)
		}
	}
	if _, ok, err := s.Position("/never/seen"); ok || err != nil {
		t.Errorf("Position of unknown source: ok=%v err=%v, want false, nil", ok, err)
	}
	mustUpdate(t, s, Batch{Positions: map[string]string{"/var/log/auth.log": ""}})
	all, err := s.Positions()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all["/var/log/auth.log"]; ok || len(all) != 1 {
		t.Errorf("after deleting a position: %v", all)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peerjail.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ban := Ban{Jail: "sshd", Key: "203.0.113.7", At: t0, Until: t0.Add(time.Hour), Offences: 2}
	off := Offender{Jail: "sshd", Key: "203.0.113.7", Offences: 2, Last: t0}
	mustUpdate(t, s, Batch{PutBans: []Ban{ban}, PutOffenders: []Offender{off}, Positions: map[string]string{"/a": "1"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Bans(); !errors.Is(err, ErrClosed) {
		t.Errorf("Bans after Close: %v, want ErrClosed", err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := mustBans(t, s); len(got) != 1 || !reflect.DeepEqual(got[0], ban) {
		t.Errorf("bans after reopen: %+v", got)
	}
	if got, _ := s.Offenders("sshd"); len(got) != 1 || got[0] != off {
		t.Errorf("offenders after reopen: %+v", got)
	}
	if pos, ok, _ := s.Position("/a"); !ok || pos != "1" {
		t.Errorf("position after reopen: %q %v", pos, ok)
	}
}

func TestSecondOpenFailsFastWithLockedError(t *testing.T) {
	s, path := openTemp(t)
	_ = s
	done := make(chan error, 1)
	go func() {
		s2, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
		if err == nil {
			s2.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("second Open hangs")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if want := "state file " + path + " is locked by another peerjail"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestSyncIsOnByDefault(t *testing.T) {
	s, _ := openTemp(t)
	if s.db.NoSync {
		t.Error("default Options skip fsync: a crash could lose bans")
	}
}

// TestConcurrentUse runs writers and readers together; run with -race.
func TestConcurrentUse(t *testing.T) {
	s, _ := openTemp(t)
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				key := fmt.Sprintf("10.0.%d.%d", w, i)
				errs <- s.Update(Batch{
					PutBans:      []Ban{{Jail: "sshd", Key: key, At: t0, Until: t0.Add(time.Hour)}},
					PutOffenders: []Offender{{Jail: "sshd", Key: key, Offences: 1, Last: t0}},
					Positions:    map[string]string{fmt.Sprint("/log/", w): fmt.Sprint(i)},
				})
			}
		})
		wg.Go(func() {
			for range perWriter {
				_, err := s.Bans()
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mustBans(t, s)); n != writers*perWriter {
		t.Errorf("%d bans, want %d", n, writers*perWriter)
	}
	for w := range writers {
		if pos, _, _ := s.Position(fmt.Sprint("/log/", w)); pos != fmt.Sprint(perWriter-1) {
			t.Errorf("position of writer %d: %q", w, pos)
		}
	}
}
