//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/mounttest"
)

// TestFullDisk puts the state file on an 8 MiB tmpfs, fills the tmpfs and
// writes bans until long after it is full, then frees the space: the next
// write saves every ban, and a reopened file holds them all. The test runs
// itself again under "unshare --mount" so that the tmpfs is mounted in a
// mount namespace of its own and the host sees nothing of it.
func TestFullDisk(t *testing.T) {
	if !mounttest.Private(t, "mounts a small tmpfs in a private mount namespace") {
		return
	}
	dir := mounttest.Tmpfs(t, "8m")

	path := filepath.Join(dir, "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	mounttest.Fill(t, filler)

	const n = 20000
	var want []Ban
	failed := 0
	for i := range n / 100 {
		var b Batch
		for j := range 100 {
			k := i*100 + j
			ban := Ban{Jail: "sshd", Key: fmt.Sprintf("198.18.%d.%d", k/250, k%250+1), At: t0, Until: t0.Add(time.Hour), Offences: 1}
			b.PutBans = append(b.PutBans, ban)
			want = append(want, ban)
		}
		b.Positions = map[string]string{"/log": fmt.Sprint(i)}
		if err := s.Update(b); err != nil {
			if !errors.Is(err, ErrBehind) {
				t.Fatalf("Update %d: %v, want ErrBehind", i, err)
			}
			failed++
		}
	}
	if failed == 0 || s.Behind() == 0 {
		t.Fatalf("%d of %d writes failed on a full disk, %d records behind: the disk was not full", failed, n/100, s.Behind())
	}
	t.Logf("%d of %d writes failed, %d records behind", failed, n/100, s.Behind())
	if got := len(mustBans(t, s)); got != n {
		t.Errorf("Bans while behind: %d, want %d", got, n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// The store tries a full disk again only RetryInterval after its last
	// try (TestRetryOncePerInterval pins that on synctest's clock): on this
	// real disk the wait is the interval itself, not a guess.
	time.Sleep(RetryInterval)
	if err := s.Update(Batch{}); err != nil {
		t.Fatalf("Update once the disk has room: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := mustBans(t, s)
	if len(got) != n {
		t.Fatalf("reopened: %d bans, want %d", len(got), n)
	}
	sortBans(want)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("reopened: ban %d is %+v, want %+v", i, got[i], want[i])
		}
	}
	if pos, _, _ := s.Position("/log"); pos != fmt.Sprint(n/100-1) {
		t.Errorf("reopened: position %q, want %d", pos, n/100-1)
	}
}
