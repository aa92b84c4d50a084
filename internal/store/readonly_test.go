package store

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := OpenReadOnly(path, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if err := s.Update(Batch{
		PutBans:      []Ban{{Jail: "ssh", Key: "203.0.113.7", At: at, Until: at.Add(time.Hour), Offences: 2}},
		PutOffenders: []Offender{{Jail: "ssh", Key: "203.0.113.7", Offences: 2, Last: at}},
	}); err != nil {
		t.Fatal(err)
	}
	// The daemon holds the file: a reader is refused, not blocked for good.
	if _, err := OpenReadOnly(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("while open for writing: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bans, err := r.Bans()
	if err != nil || len(bans) != 1 || bans[0].Offences != 2 {
		t.Errorf("bans %+v, %v", bans, err)
	}
	offs, err := r.Offenders("")
	if err != nil || len(offs) != 1 || !offs[0].Last.Equal(at) {
		t.Errorf("offenders %+v, %v", offs, err)
	}
	if err := r.Update(Batch{DeleteBans: []BanKey{{Jail: "ssh", Key: "203.0.113.7"}}}); err == nil {
		t.Error("Update on a read-only store worked")
	}
	// Two readers at once: commands do not exclude each other.
	r2, err := OpenReadOnly(path, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	r2.Close()
}
