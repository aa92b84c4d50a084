package store

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// While behind, a write tries the disk at most once per RetryInterval
// (each try writes the whole queue); the writes in between only queue, and
// a forced write (Close's) always tries. On synctest's clock the interval
// is exact.
func TestRetryOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "peerjail.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tries, full := 0, true
		s.failWrite = func() error {
			tries++
			if full {
				return syscall.ENOSPC
			}
			return nil
		}
		ban := func(key string) Batch {
			return Batch{PutBans: []Ban{{Jail: "sshd", Key: key, At: t0, Until: t0.Add(time.Hour), Offences: 1}}}
		}
		steps := []struct {
			wait  time.Duration
			key   string
			tries int // in all, after this step's write
		}{
			{0, "203.0.113.1", 1}, // falls behind
			{0, "203.0.113.2", 1},
			{RetryInterval - time.Nanosecond, "203.0.113.3", 1},
			{time.Nanosecond, "203.0.113.4", 2},
			{RetryInterval / 2, "203.0.113.5", 2},
			{RetryInterval / 2, "203.0.113.6", 3},
		}
		for _, st := range steps {
			time.Sleep(st.wait)
			if err := s.Update(ban(st.key)); !errors.Is(err, ErrBehind) {
				t.Fatalf("Update %s on a full disk: %v, want ErrBehind", st.key, err)
			}
			if tries != st.tries {
				t.Errorf("after %s: %d tries of the disk, want %d", st.key, tries, st.tries)
			}
		}
		if n := s.Behind(); n != 6 {
			t.Errorf("Behind = %d, want the 6 bans", n)
		}
		full = false
		if err := s.Update(Batch{}); !errors.Is(err, ErrBehind) || tries != 3 {
			t.Errorf("an empty Update within the interval: %v after %d tries; want ErrBehind without a try", err, tries)
		}
		if err := s.Close(); err != nil || tries != 4 {
			t.Fatalf("Close: %v after %d tries; want the queue forced out on the 4th", err, tries)
		}
		s, err = Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := len(mustBans(t, s)); got != 6 {
			t.Errorf("%d bans saved, want 6", got)
		}
	})
}
