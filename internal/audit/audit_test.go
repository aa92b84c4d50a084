package audit

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func ban(i int) Record {
	uid := uint32(0)
	return Record{
		Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second), Event: EventBan, By: ByManual, UID: &uid,
		Jail: "ssh", Key: fmt.Sprintf("198.51.100.%03d", i), Hits: 3, Offences: 1,
		Evidence: []string{"Failed password for root from 198.51.100.1 port 22 ssh2"},
		Actions:  []Result{{Action: "nftables", OK: true}},
	}
}

func readAll(t *testing.T, dir string) ([]Record, int) {
	t.Helper()
	var out []Record
	skipped, err := Read(dir, func(r Record) bool { out = append(out, r); return true })
	if err != nil {
		t.Fatal(err)
	}
	return out, skipped
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir, Options{})
	l.Write(ban(1), ban(2))
	l.Write(ban(3))
	l.Write()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, skipped := readAll(t, dir)
	if len(got) != 3 || skipped != 0 {
		t.Fatalf("read %d records (%d skipped), want 3", len(got), skipped)
	}
	for i, r := range got {
		want := ban(i + 1)
		if r.Key != want.Key || !r.Time.Equal(want.Time) || r.UID == nil || *r.UID != 0 || len(r.Actions) != 1 || !r.Actions[0].OK {
			t.Errorf("record %d: %+v, want %+v", i, r, want)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("trail file: %v, mode %v; want 0600 (it holds evidence)", err, fi.Mode().Perm())
	}
}

// TestRecordJSON pins the field names and the omissions of the contract.
func TestRecordJSON(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir, Options{})
	ok := false
	l.Write(Record{Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Event: EventReload, By: BySignal, OK: &ok, Error: "bad", Config: "/etc/peerjail/peerjail.yaml"},
		Record{Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC), Event: EventUnban, By: ByExpiry, Jail: "ssh", Key: "2001:db8::/64", At: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)})
	l.Close()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-12-01T10:00:00Z","event":"reload","by":"signal","ok":false,"error":"bad","config":"/etc/peerjail/peerjail.yaml"}
{"time":"2026-12-01T10:00:01Z","event":"unban","by":"expiry","jail":"ssh","key":"2001:db8::/64","at":"2026-12-01T10:00:01Z"}
`
	if string(b) != want {
		t.Errorf("trail:\n%s\nwant:\n%s", b, want)
	}
}

// TestRotation: the file rotates past MaxSize, Keep rotated files remain,
// and what is left reads back in order without a gap.
func TestRotation(t *testing.T) {
	for _, batch := range []int{1, 7, 100} {
		t.Run(fmt.Sprintf("batches of %d", batch), func(t *testing.T) { testRotation(t, batch) })
	}
}

func testRotation(t *testing.T, batch int) {
	dir := t.TempDir()
	line, _ := encodedSize(ban(0))
	l := Open(dir, Options{MaxSize: int64(line * 10), Keep: 3})
	var recs []Record
	for i := range 100 {
		if recs = append(recs, ban(i)); len(recs) == batch {
			l.Write(recs...)
			recs = recs[:0]
		}
	}
	l.Write(recs...)
	l.Close()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		if fi, err := os.Stat(f); err != nil || fi.Size() > int64(line*10) {
			t.Errorf("%s: %d bytes, %v; want at most MaxSize", f, fi.Size(), err)
		}
	}
	if strings.Join(names, " ") != "audit.jsonl.3 audit.jsonl.2 audit.jsonl.1 audit.jsonl" {
		t.Fatalf("files %v, want 3 rotated and the current one", names)
	}
	got, _ := readAll(t, dir)
	if len(got) != 40 {
		t.Fatalf("%d records kept, want 40 (4 files of 10)", len(got))
	}
	for i, r := range got {
		if want := ban(60 + i); !r.Time.Equal(want.Time) {
			t.Fatalf("record %d at %v, want %v: the newest records, in order", i, r.Time, want.Time)
		}
	}
}

func encodedSize(r Record) (int, error) {
	dir, err := os.MkdirTemp("", "size")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	l := Open(dir, Options{})
	l.Write(r)
	l.Close()
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		return 0, err
	}
	return int(fi.Size()), nil
}

// TestSyncBatching: a burst of batches costs one fsync per SyncEvery, the
// first at once; Close syncs what is left.
func TestSyncBatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var syncs atomic.Int32
		l := Open(t.TempDir(), Options{SyncEvery: time.Second, syncFile: func(*os.File) error { syncs.Add(1); return nil }})
		l.Write(ban(1))
		synctest.Wait()
		if n := syncs.Load(); n != 1 {
			t.Fatalf("%d fsyncs after the first batch, want 1 at once", n)
		}
		for i := range 50 {
			l.Write(ban(i))
		}
		synctest.Wait()
		if n := syncs.Load(); n != 1 {
			t.Fatalf("%d fsyncs within the interval, want still 1", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := syncs.Load(); n != 2 {
			t.Fatalf("%d fsyncs after the interval, want 2", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := syncs.Load(); n != 2 {
			t.Fatalf("%d fsyncs with nothing written, want 2", n)
		}
		l.Write(ban(99))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if n := syncs.Load(); n < 3 {
			t.Fatalf("%d fsyncs after Close, want the last batch synced", n)
		}
	})
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestWriteFailure: a trail that cannot be written drops and counts its
// records, logs one error until it works, and works again by itself.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file goes: open fails as on a read-only disk,
	// even for root.
	blocker := filepath.Join(dir, FileName)
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	reg := prometheus.NewRegistry()
	l := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: reg})
	for i := range 5 {
		l.Write(ban(i), ban(i+100))
	}
	if l.Dropped() != 10 || l.Errors() != 6 {
		t.Errorf("dropped %d, errors %d; want 10 and 6 (the open at start, then each write)", l.Dropped(), l.Errors())
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("%d warnings logged, want 1 and no error:\n%s", n, logs)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	l.Write(ban(7))
	l.Close()
	if !strings.Contains(logs.String(), "audit trail writes work again") {
		t.Errorf("no word that it works again:\n%s", logs)
	}
	got, _ := readAll(t, dir)
	if len(got) != 1 || got[0].Key != ban(7).Key {
		t.Errorf("records %+v, want only the one written after recovery", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		seen[mf.GetName()] = mf.GetMetric()[0].GetCounter().GetValue()
	}
	if seen["peerjail_audit_dropped_total"] != 10 || seen["peerjail_audit_errors_total"] != 6 {
		t.Errorf("metrics %v", seen)
	}
	l.Write(ban(8))
	if l.Dropped() != 11 {
		t.Errorf("a write after Close: dropped %d, want 11", l.Dropped())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCutLine: a line cut short (a power loss) is skipped when read and
// ended before the next record, which reads intact.
func TestCutLine(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir, Options{})
	l.Write(ban(1))
	l.Close()
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-12-01T10:00:00Z","event":"ban","ja`)
	f.Close()
	l = Open(dir, Options{})
	l.Write(ban(2))
	l.Close()
	got, skipped := readAll(t, dir)
	if len(got) != 2 || skipped != 1 || got[1].Key != ban(2).Key {
		t.Errorf("read %+v with %d skipped; want records 1 and 2, the cut line skipped", got, skipped)
	}
}

func TestReadStops(t *testing.T) {
	dir := t.TempDir()
	if got, _ := readAll(t, filepath.Join(dir, "missing")); len(got) != 0 {
		t.Errorf("a missing dir: %d records", len(got))
	}
	l := Open(dir, Options{})
	l.Write(ban(1), ban(2), ban(3))
	l.Close()
	n := 0
	if _, err := Read(dir, func(Record) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("Read went on after fn said stop: %d calls, %v", n, err)
	}
}
