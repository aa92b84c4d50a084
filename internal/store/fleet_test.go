package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A fleet ban keeps its origin and reporters across a reopen; a local ban
// beside it keeps none, and a local ban put over a fleet one drops them.
func TestFleetBanOriginRoundTrip(t *testing.T) {
	s, path := openTemp(t)
	mustUpdate(t, s, Batch{PutBans: []Ban{
		{Jail: "libp2p", Key: "203.0.113.5", At: t0, Until: t0.Add(time.Hour), Offences: 1, Source: "fleet", Reporters: []string{"host-b", "host-c"}},
		{Jail: "libp2p", Key: "203.0.113.6", At: t0, Until: t0.Add(2 * time.Hour), Offences: 1},
		{Jail: "libp2p", Key: "203.0.113.7", At: t0, Until: t0.Add(3 * time.Hour), Offences: 1, Source: "fleet", Reporters: []string{"host-b", "host-c"}},
	}})
	mustUpdate(t, s, Batch{PutBans: []Ban{{Jail: "libp2p", Key: "203.0.113.7", At: t0, Until: t0.Add(4 * time.Hour), Offences: 2}}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Clean(path), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := mustBans(t, s)
	want := []struct {
		source    string
		reporters []string
	}{{"fleet", []string{"host-b", "host-c"}}, {"", nil}, {"", nil}}
	if len(got) != len(want) {
		t.Fatalf("got %d bans: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].Source != w.source || !slices.Equal(got[i].Reporters, w.reporters) {
			t.Errorf("ban %s: source %q reporters %q; want %q %q", got[i].Key, got[i].Source, got[i].Reporters, w.source, w.reporters)
		}
	}
}
