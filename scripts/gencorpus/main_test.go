package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

func testOptions(t *testing.T, kind string, lines int, seed uint64) options {
	t.Helper()
	o, err := parseFlags([]string{"-kind", kind, "-lines", itoa(lines), "-seed", itoa(int(seed))})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// The figures in the README are reproducible only if a seed fixes the bytes.
func TestSameSeedSameBytes(t *testing.T) {
	for _, kind := range []string{"libp2p", "flow", "sshd"} {
		t.Run(kind, func(t *testing.T) {
			sum := func(seed uint64) [32]byte {
				var b bytes.Buffer
				if _, err := generate(testOptions(t, kind, 5000, seed), &b); err != nil {
					t.Fatal(err)
				}
				if n := bytes.Count(b.Bytes(), []byte("\n")); n != 5000 {
					t.Fatalf("%d lines, want 5000", n)
				}
				return sha256.Sum256(b.Bytes())
			}
			first, again := sum(7), sum(7)
			if first != again {
				t.Error("the same seed gave different corpora")
			}
			if first == sum(8) {
				t.Error("different seeds gave the same corpus")
			}
		})
	}
}

func TestFirstBan(t *testing.T) {
	s := func(secs ...int) []int64 {
		var ts []int64
		for _, x := range secs {
			ts = append(ts, int64(x)*int64(time.Second))
		}
		return ts
	}
	for _, tc := range []struct {
		name     string
		times    []int64
		maxretry int
		banned   bool
		at, most int64
	}{
		{"none", nil, 3, false, 0, 0},
		{"three within", s(0, 5, 9), 3, true, 9, 3},
		// the window is (x-findtime, x]: a hit exactly findtime earlier is out
		{"boundary excluded", s(0, 5, 10), 3, false, 0, 2},
		{"later window", s(0, 20, 25, 29), 3, true, 29, 3},
		{"same instant", s(4, 4, 4), 3, true, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, banned, most := firstBan(tc.times, 10*time.Second, tc.maxretry)
			if banned != tc.banned || int64(most) != tc.most || (banned && at != tc.at*int64(time.Second)) {
				t.Errorf("firstBan = %v, %v, %d; want %v, %v, %d", at, banned, most, tc.at*int64(time.Second), tc.banned, tc.most)
			}
		})
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     time.Unix(defaultStart, 0),
		"now":                  time.Unix(now.Unix(), 0),
		"now-120":              time.Unix(now.Unix()-120, 0),
		"1700000000.5":         time.Unix(1700000000, 5e8),
		"2025-03-04T05:06:07Z": time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
	} {
		got, err := parseStart(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseStart(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"now-x", "yesterday"} {
		if _, err := parseStart(in, now); err == nil {
			t.Errorf("parseStart(%q) accepted", in)
		}
	}
}

// The ground truth is only as good as its categories: every line it counts
// must be one that peerjail's stock filter matches with the same host, and
// every other line must not be, or bench.sh's equality check would compare
// two mistakes. The victims never appear as a matched host.
func TestCategoriesAgreeWithStockFilters(t *testing.T) {
	stock, err := config.StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, filter string
		counted      []string
	}{
		{"libp2p", "libp2p-peer-status", []string{catPeerStatus}},
		{"libp2p", "libp2p-misbehaving", []string{catMisbehaving}},
		{"flow", "flow-suspicious", []string{catSuspicious}},
		{"sshd", "sshd", sshdNormal},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := filter.New(stock[tc.filter])
			if err != nil {
				t.Fatal(err)
			}
			opt := testOptions(t, tc.kind, 50000, 3)
			opt.hostileShare = 0.05 // enough hostile lines in a short corpus
			victims := map[string]bool{}
			counted, bad := 0, 0
			_, err = generateObserved(opt, io.Discard, func(l line) {
				if l.victim != "" {
					victims[l.victim] = true
				}
				hit, out := f.Match(&logline.Line{Text: l.text})
				want := slices.Contains(tc.counted, l.category) && l.host != ""
				if want {
					counted++
				}
				// An identity (a flow peer_id without an address) is not a host.
				got := out == filter.Match && hit.Host.Addr.IsValid()
				if got != want || (got && hit.Host.String() != l.host) || (got && victims[hit.Host.String()]) {
					if bad++; bad <= 5 {
						t.Errorf("category %q host %q: filter says %v %v\n%s", l.category, l.host, out, hit.Host, l.text)
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if counted == 0 || len(victims) == 0 {
				t.Errorf("%d counted lines and %d victims: the corpus tests nothing", counted, len(victims))
			}
		})
	}
}
