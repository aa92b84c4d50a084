package store

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func hits(from time.Time, gaps ...time.Duration) []time.Time {
	out := []time.Time{from}
	for _, g := range gaps {
		out = append(out, out[len(out)-1].Add(g))
	}
	return out
}

func sortedPending(ps []PendingHost) []PendingHost {
	slices.SortFunc(ps, func(a, b PendingHost) int { return compareBanKey(BanKey{Key: a.Key}, BanKey{Key: b.Key}) })
	return ps
}

func TestPendingRoundTripAndReplace(t *testing.T) {
	s, path := openTemp(t)
	first := []PendingHost{
		{Key: "203.0.113.1", Hits: hits(t0, time.Second, time.Nanosecond, 0)},
		{Key: "2001:db8:1:2::/64", Hits: hits(t0.Add(-time.Hour), 59*time.Minute)},
		{Key: "12D3KooWGRUVh8gHxyMSBHDUgURNdVmgaGsTMCKpTWJYRk3HGE6J", Hits: hits(t0.Add(time.Minute))},
		{Key: "198.51.100.1"}, // no hits: nothing to keep
	}
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"sshd": first, "libp2p": first[:1]}})
	want := sortedPending(slices.Clone(first[:3]))
	got, err := s.Pending("sshd")
	if err != nil || !reflect.DeepEqual(sortedPending(got), want) {
		t.Fatalf("Pending(sshd) = %+v, %v; want %+v", got, err, want)
	}

	// Replacing one jail's windows leaves the other's alone.
	second := []PendingHost{{Key: "192.0.2.9", Hits: hits(t0)}}
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"sshd": second}})
	if got, _ := s.Pending("sshd"); !reflect.DeepEqual(got, second) {
		t.Errorf("after replace: %+v, want %+v", got, second)
	}
	if got, _ := s.Pending("libp2p"); len(got) != 1 || got[0].Key != "203.0.113.1" {
		t.Errorf("libp2p after sshd's replace: %+v", got)
	}
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"libp2p": nil}})
	if got, _ := s.Pending("libp2p"); len(got) != 0 {
		t.Errorf("libp2p after delete: %+v", got)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.Pending("sshd"); !reflect.DeepEqual(got, second) {
		t.Errorf("after reopen: %+v, want %+v", got, second)
	}
}

func TestPendingChunksAndBound(t *testing.T) {
	s, _ := openTemp(t)
	n := 3*pendingChunkHosts + 5
	var hosts []PendingHost
	for i := range n {
		hosts = append(hosts, PendingHost{Key: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Hits: hits(t0.Add(time.Duration(i)*time.Millisecond), time.Second)})
	}
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"sshd": hosts}})
	got, err := s.Pending("sshd")
	if err != nil || len(got) != n {
		t.Fatalf("Pending: %d hosts, %v; want %d", len(got), err, n)
	}

	// Over MaxPendingBytes the windows with the latest hits are kept.
	chunks := encodePending(bigWindows(MaxPendingBytes/40 + 2*pendingChunkHosts))
	size := 0
	for _, c := range chunks[:len(chunks)-1] {
		size += len(c)
	}
	if size >= MaxPendingBytes {
		t.Errorf("encoded %d bytes before the last chunk, bound %d", size, MaxPendingBytes)
	}
	last, err := decodePendingChunk(chunks[len(chunks)-1])
	if err != nil {
		t.Fatal(err)
	}
	oldest := last[len(last)-1].Hits[0]
	if newest, _ := decodePendingChunk(chunks[0]); !newest[0].Hits[0].After(oldest) {
		t.Errorf("first chunk starts at %v, not after the last's %v: the latest windows must come first", newest[0].Hits[0], oldest)
	}
}

// bigWindows returns n hosts of 40 bytes or more each, the later the
// higher their index.
func bigWindows(n int) []PendingHost {
	out := make([]PendingHost, n)
	for i := range out {
		out[i] = PendingHost{Key: fmt.Sprintf("2001:db8:%x:%x::/64", i>>16, i&0xffff), Hits: hits(t0.Add(time.Duration(i)*time.Second), 1e15, 1e15, 1e15)}
	}
	return out
}

func TestPendingDropsHitsItCannotEncode(t *testing.T) {
	s, _ := openTemp(t)
	in := []PendingHost{
		{Key: "a", Hits: []time.Time{{}, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), t0}},
		{Key: "b", Hits: []time.Time{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Key: "c", Hits: []time.Time{t0.Add(time.Second), t0}}, // unsorted
	}
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"sshd": in}})
	got, _ := s.Pending("sshd")
	want := []PendingHost{{Key: "a", Hits: []time.Time{t0}}, {Key: "c", Hits: []time.Time{t0, t0.Add(time.Second)}}}
	if !reflect.DeepEqual(sortedPending(got), want) {
		t.Errorf("Pending = %+v, want %+v", got, want)
	}
	long := strings.Repeat("k", maxRecordKey+1)
	mustUpdate(t, s, Batch{
		PutBans: []Ban{{Jail: "sshd", Key: "a", Until: t0}},
		Pending: map[string][]PendingHost{"sshd": {{Key: "", Hits: []time.Time{t0}}, {Key: long, Hits: []time.Time{t0}}, {Key: "d", Hits: []time.Time{t0}}}},
	})
	if got, _ := s.Pending("sshd"); len(got) != 1 || got[0].Key != "d" {
		t.Errorf("windows with keys the store cannot hold: %+v, want only d's", got)
	}
	if len(mustBans(t, s)) != 1 {
		t.Error("the ban in the batch of an unstorable window was not saved")
	}
}

func TestPendingSkipsDamagedChunks(t *testing.T) {
	s, path := openTemp(t)
	mustUpdate(t, s, Batch{Pending: map[string][]PendingHost{"sshd": {{Key: "k", Hits: hits(t0)}}}})
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).Put(binary.BigEndian.AppendUint32(jailPrefix("sshd"), 7), []byte{1, 0, 1, 'x', 5})
	})
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Pending("sshd"); err != nil || len(got) != 1 || s.Skipped() != 1 {
		t.Errorf("Pending = %+v, %v, skipped %d; want the good host and 1 skipped", got, err, s.Skipped())
	}
	if _, _, err := s.Prune(t0, 0); err != nil {
		t.Fatal(err)
	}
	before := s.Skipped()
	if got, _ := s.Pending("sshd"); len(got) != 1 || s.Skipped() != before {
		t.Errorf("after Prune: %+v, skipped %d -> %d; want the damaged chunk gone", got, before, s.Skipped())
	}
}

// FuzzPendingChunk feeds arbitrary bytes to the windows' decoder: it must
// not panic or allocate past its input, and what decodes must survive a
// round trip.
func FuzzPendingChunk(f *testing.F) {
	f.Add(encodePendingChunk([]PendingHost{{Key: "203.0.113.1", Hits: hits(t0, time.Second, 0)}, {Key: "2001:db8::/64", Hits: hits(t0.Add(-time.Hour))}}))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 1, 'k', 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 'k', 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		hosts, err := decodePendingChunk(b)
		if err != nil {
			return
		}
		chunks := encodePending(hosts)
		if len(chunks) != 1 {
			t.Fatalf("decoded %+v does not encode to one chunk: %d", hosts, len(chunks))
		}
		again, err := decodePendingChunk(chunks[0])
		if err != nil || !reflect.DeepEqual(again, hosts) {
			t.Fatalf("round trip: %+v -> %+v, %v", hosts, again, err)
		}
	})
}
