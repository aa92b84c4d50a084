package jail

import (
	"net/netip"
	"testing"
	"time"
)

func TestAddKey(t *testing.T) {
	cfg := Policy{Name: "recidive", FindTime: 24 * time.Hour, MaxRetry: 2, BanTime: 7 * 24 * time.Hour,
		IgnoreIP: []netip.Prefix{netip.MustParsePrefix("2001:db8:ff::1/128")}}
	tests := []struct {
		name string
		key  string
		at   []time.Duration
		want []Verdict
	}{
		{"an escalated prefix is counted whole", "2001:db8:1:1::/64", []time.Duration{0, time.Hour}, []Verdict{Counted, Banned}},
		{"an address", "198.51.100.7", []time.Duration{0, time.Hour, 2 * time.Hour}, []Verdict{Counted, Banned, AlreadyBanned}},
		{"an identity", "12D3KooWPeer", []time.Duration{0, 30 * time.Hour}, []Verdict{Counted, Counted}},
		{"a prefix holding an ignored address", "2001:db8:ff::/48", []time.Duration{0, time.Hour}, []Verdict{IgnoredHost, IgnoredHost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustNew(t, cfg)
			k := mustKey(t, tt.key, 128)
			for i, at := range tt.at {
				d, v := j.AddKey(k, ts(at), []byte("ban"))
				if v != tt.want[i] {
					t.Fatalf("hit %d: %v, want %v", i, v, tt.want[i])
				}
				if v == Banned && (d.Key != k || !d.At.Equal(ts(at)) || d.Duration != cfg.BanTime || len(d.Evidence) != 2) {
					t.Fatalf("hit %d: ban %+v, want %v from %v for %v with both bans as evidence", i, d, k, ts(at), cfg.BanTime)
				}
			}
		})
	}
}
