package replay

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/pipeline"
)

// The merge of overlapping files is the replay of the one time-sorted file
// they were cut from, byte for byte, in whichever order they are given.
func TestReplayMergeSameAsSorted(t *testing.T) {
	lines := isoCorpus(t, 60_000)
	dir := t.TempDir()
	one := writeSplit(t, dir, lines, 1)
	sub := filepath.Join(dir, "split")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	three := writeSplit(t, sub, lines, 3)
	run := func(logs []string, workers int) string {
		return runReplay(t, Options{Config: loadConfig(t, "../../examples/replay.yaml"), Logs: logs, JSON: true, Workers: workers})
	}
	want := run(one, 1)
	if strings.Count(want, `"event":"ban"`) < 3 || !strings.Contains(want, `"event":"unban"`) {
		t.Fatalf("the corpus bans too little to compare:\n%.600s", want)
	}
	checkContract(t, want)
	for _, tc := range []struct {
		name    string
		logs    []string
		workers int
	}{
		{"in order", three, 1},
		{"reversed", []string{three[2], three[1], three[0]}, 1},
		{"4 workers", three, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.logs, tc.workers); got != want {
				t.Errorf("3 files merged differ from the sorted file:\n got %.800s\nwant %.800s", got, want)
			}
		})
	}
}

// Two overlapping logs (two servers' auth.log): the ban comes at the fifth
// hit in time, 00:00:05 in the second file, not at the fifth line read.
func TestReplayMergeDecisiveHit(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, secs ...int) string {
		var b strings.Builder
		for _, s := range secs {
			fmt.Fprintf(&b, "Jul 27 00:00:%02d h sshd[1]: Failed password for root from 198.51.100.1 port %d ssh2\n", s, 40000+s)
		}
		p := filepath.Join(dir, name)
		mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil || os.Chtimes(p, mtime, mtime) != nil {
			t.Fatal("cannot write", p)
		}
		return p
	}
	a := write("a.log", 1, 2, 3, 4, 7)
	b := write("b.log", 5, 6)
	got := runReplay(t, Options{Config: loadConfig(t, "testdata/sshd.yaml"), Logs: []string{a, b}, JSON: true, Workers: 1})
	want := `{"event":"ban","jail":"ssh","host":"198.51.100.1","at":"2024-07-27T00:00:05.000Z","until":"2024-07-27T00:30:05.000Z","hits":5,"actions":["dry-run"]}` + "\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("got:\n%s\nwant first:\n%s", got, want)
	}
}

// Lines of the merge keep their own file's order: an undated line, or one
// stamped past its file's last write, goes with its predecessor.
func TestMergeKeys(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil || os.Chtimes(p, mtime, mtime) != nil {
			t.Fatal("cannot write", p)
		}
		return p
	}
	a := write("a", "2024-07-27T00:00:01Z a1\nZ a1 continued\n2099-01-01T00:00:00Z a2 jumped\n2024-07-27T00:00:04Z a3\n")
	b := write("b", "2024-07-27T00:00:02Z b1\n2024-07-27T00:00:03Z b2\n2024-07-27T00:00:05Z b3\n")
	g := newGroup("t", nil, nil)
	var cs []*cursor
	for i, p := range []string{a, b} {
		c, err := openFile(t.Context(), p, i, g, true, window{})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	var got []string
	h := mergeHeap{}
	for _, c := range cs {
		if c.read() == nil {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		_, text, _ := strings.Cut(string(h[0].cur.Text), "Z ")
		got = append(got, strings.TrimSpace(text))
		if h[0].read() != nil {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	want := []string{"a1", "a1 continued", "a2 jumped", "b1", "b2", "a3", "b3"}
	if !slices.Equal(got, want) {
		t.Errorf("merge order %q, want %q", got, want)
	}
}

// A read cut short by the replay's own context is an interruption, not a
// broken input, even before the feed's child context hears of it: the
// signal must not print an error.
func TestFeedInterruptedBeforeChildContext(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		parent, cancel := context.WithCancel(t.Context())
		g := newGroup("t", nil, nil)
		c, err := openFile(parent, "/dev/zero", 0, g, keyed, window{})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		var warn bytes.Buffer
		in := make(chan *pipeline.Batch, 1)
		err = feed(t.Context(), []*cursor{c}, in, nil, &warn)
		if !errors.Is(err, context.Canceled) || warn.Len() != 0 {
			t.Errorf("keyed %v: feed = %v, warned %q; want context.Canceled and no warning", keyed, err, warn.String())
		}
	}
}
