package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillStore writes n bans into a new state file and closes it.
func fillStore(t testing.TB, path string, n int) {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, Batch{PutBans: makeBans(n, t0)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func makeBans(n int, at time.Time) []Ban {
	bans := make([]Ban, n)
	for i := range bans {
		bans[i] = Ban{
			Jail: []string{"sshd", "libp2p", "geth"}[i%3], Key: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			At: at, Until: at.Add(time.Duration(i%5000) * time.Second), Offences: 1 + i%4,
		}
	}
	return bans
}

// rawUpdate edits a closed state file behind the store's back.
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func wantCorrupt(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"state file " + path, "move it aside"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestGarbageFileGivesClearError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	tests := map[string][]byte{
		"one byte":       {0x42},
		"text":           []byte("this is not a database\n"),
		"random page":    random(4096),
		"random 64 KiB":  random(64 << 10),
		"zeroes 16 KiB":  make([]byte, 16<<10),
		"random 1 MiB":   random(1 << 20),
		"sqlite-ish hdr": append([]byte("SQLite format 3\x00"), random(8192)...),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "peerjail.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				s.Close()
			}
			wantCorrupt(t, err, path)
		})
	}
}

func TestTruncatedFileGivesClearError(t *testing.T) {
	full := filepath.Join(t.TempDir(), "full.db")
	fillStore(t, full, 20000)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt grows the file ahead of use; only a cut below the high water
	// mark loses data.
	hwm := int(highWaterMark(t, full))
	for _, size := range []int{hwm - 1, hwm - 4096, hwm / 2, 3 * 4096, 2 * 4096, 5000, 4096, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "peerjail.db")
			if err := os.WriteFile(path, data[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				s.Close()
			}
			wantCorrupt(t, err, path)
		})
	}
}

func highWaterMark(t *testing.T, path string) (size int64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	return size
}

// TestDamagedPagesNeverPanic scribbles over data pages while keeping the
// meta pages valid, which is what bbolt trusts blindly.
func TestDamagedPagesNeverPanic(t *testing.T) {
	full := filepath.Join(t.TempDir(), "full.db")
	fillStore(t, full, 20000)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	detected := 0
	defer func() {
		// Damage in free pages or inside values can go unnoticed, but if
		// none of 20 runs is caught the guard is not doing its job.
		if detected == 0 {
			t.Error("no damaged file was reported as corrupt")
		}
	}()
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			bad := bytes.Clone(data)
			for range 1 + i {
				page := 2 + rng.IntN(len(bad)/4096-2)
				off := page*4096 + rng.IntN(4096-64)
				for j := range 64 {
					bad[off+j] = byte(rng.Uint32())
				}
			}
			path := filepath.Join(t.TempDir(), "peerjail.db")
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
			if err != nil {
				wantCorrupt(t, err, path)
				detected++
				return
			}
			defer s.Close()
			bans, err := s.Bans()
			if err != nil {
				wantCorrupt(t, err, path)
				detected++
				return
			}
			_, _, err = s.Prune(t0, time.Hour)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("Prune: %v, want nil or ErrCorrupt", err)
			}
			t.Logf("damage unnoticed by Open; Bans read %d of 20000, skipped %d", len(bans), s.Skipped())
		})
	}
}

func TestUndecodableRecordsAreSkippedAndCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peerjail.db")
	good := []Ban{
		{Jail: "sshd", Key: "203.0.113.1", Until: t0.Add(time.Hour)},
		{Jail: "sshd", Key: "203.0.113.2", Until: t0.Add(2 * time.Hour)},
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, Batch{PutBans: good, PutOffenders: []Offender{{Jail: "sshd", Key: "203.0.113.1", Last: t0}}})
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		bans, offenders := tx.Bucket(bucketBans), tx.Bucket(bucketOffenders)
		return errors.Join(
			bans.Put([]byte("sshd\x00X"), []byte{0xff}),               // bad value
			bans.Put([]byte("no-separator"), []byte{1, 2, 0, 2, 0}),   // bad key
			offenders.Put([]byte("sshd\x00Y"), []byte{1, 2, 0, 0xff}), // trailing byte
		)
	})

	var logs bytes.Buffer
	s, err = Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := mustBans(t, s); len(got) != 2 || !reflect.DeepEqual(got[0], good[0]) || !reflect.DeepEqual(got[1], good[1]) {
		t.Errorf("bans: %+v, want the 2 good ones", got)
	}
	if offs, err := s.Offenders("sshd"); err != nil || len(offs) != 1 {
		t.Errorf("offenders: %+v, %v; want the 1 good one", offs, err)
	}
	if n := s.Skipped(); n != 3 {
		t.Errorf("Skipped = %d, want 3", n)
	}
	if !strings.Contains(logs.String(), "skipped undecodable state records") || !strings.Contains(logs.String(), "bucket=bans") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	// Prune drops the damaged records, so later reads are clean.
	if nb, no, err := s.Prune(t0, time.Hour); err != nil || nb != 2 || no != 1 {
		t.Errorf("Prune = %d, %d, %v; want 2 damaged bans and 1 damaged offender dropped", nb, no, err)
	}
	before := s.Skipped()
	mustBans(t, s)
	if _, err := s.Offenders(""); err != nil || s.Skipped() != before {
		t.Errorf("records still skipped after Prune: %d -> %d (%v)", before, s.Skipped(), err)
	}
}

func TestFormatChecks(t *testing.T) {
	tests := []struct {
		name string
		edit func(tx *bolt.Tx) error
		want error
	}{
		{"newer version", func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{2}) }, ErrVersion},
		{"garbled version", func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{0x80}) }, ErrVersion},
		{"missing bucket", func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketPositions) }, ErrCorrupt},
		{"foreign bbolt file", func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket(bucketMeta); err != nil {
				return err
			}
			_, err := tx.CreateBucket([]byte("etcd"))
			return err
		}, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "peerjail.db")
			fillStore(t, path, 1)
			rawUpdate(t, path, tt.edit)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: %v, want %v naming the file", err, tt.want)
			}
			// The failed Open released the file: a fixed file opens again.
			rawUpdate(t, path, func(tx *bolt.Tx) error { return nil })
		})
	}
}
