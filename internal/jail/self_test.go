package jail

import (
	"net/netip"
	"testing"
	"time"
)

func TestSetSelfKeepsWindows(t *testing.T) {
	const s = time.Second
	j := mustNew(t, basic()) // 3 hits ban
	j.Add(hit("192.0.2.1", 1), ts(0), nil)
	j.Add(hit("192.0.2.1", 1), ts(1*s), nil)
	j.Ban(mustKey(t, "198.51.100.1", 0), ts(1*s), time.Hour)
	j.SetSelf(mustPrefixes(t, "203.0.113.5/32", "2001:db8:1:2::5/128"))
	if st := j.Stats(ts(2 * s)); st.Tracked != 1 || st.Banned != 1 {
		t.Fatalf("SetSelf touched windows or bans: %+v", st)
	}
	if _, v := j.Add(hit("203.0.113.5", 1), ts(2*s), nil); v != IgnoredHost {
		t.Errorf("own address: %v, want ignored", v)
	}
	if d, v := j.Add(hit("192.0.2.1", 1), ts(2*s), nil); v != Banned || d.Hits != 3 {
		t.Errorf("window lost across SetSelf: %v %+v", v, d)
	}
	j.SetSelf(mustPrefixes(t, "203.0.113.6/32"))
	if _, v := j.Add(hit("203.0.113.5", 1), ts(3*s), nil); v != Counted {
		t.Errorf("former own address: %v, want counted", v)
	}
	if _, v := j.Add(hit("203.0.113.6", 1), ts(3*s), nil); v != IgnoredHost {
		t.Errorf("new own address: %v, want ignored", v)
	}
}

// A group holding an ignored or own address is narrowed to the /128: banning
// the group would cut that address off.
func TestIPv6GroupNarrowed(t *testing.T) {
	tests := []struct {
		name   string
		ignore []string
		self   []string
		bits   int
		host   string
		want   string
	}{
		{"default ::1 inside the group (/ip6/::2/...)", nil, nil, 64, "::2", "::2"},
		{"ignoreip inside the group", []string{"2001:db8:1:2::1/128"}, nil, 64, "2001:db8:1:2::2", "2001:db8:1:2::2"},
		{"own address inside the group", nil, []string{"2001:db8:1:2::5/128"}, 64, "2001:db8:1:2::9", "2001:db8:1:2::9"},
		{"own /64 inside a /48 group", nil, []string{"2001:db8:1:2::/64"}, 48, "2001:db8:1:3::9", "2001:db8:1:3::9"},
		{"neighbouring group untouched", nil, []string{"2001:db8:1:2::5/128"}, 64, "2001:db8:1:3::9", "2001:db8:1:3::/64"},
		{"ignored prefix wider than the group", []string{"2001:db8::/32"}, nil, 64, "2001:db9::1", "2001:db9::/64"},
		{"mapped IPv4 stays /32", []string{"::1/128"}, nil, 64, "::ffff:192.0.2.1", "192.0.2.1"},
		{"/128 groups need no narrowing", nil, nil, 128, "::2", "::2"},
		{"own address in a /48 group", nil, []string{"2001:db8:1:2::5/128"}, 48, "2001:db8:1:ffff::1", "2001:db8:1:ffff::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := basic()
			cfg.IPv6Prefix = tt.bits
			cfg.IgnoreIP = mustPrefixes(t, tt.ignore...)
			j := mustNew(t, cfg)
			j.SetSelf(mustPrefixes(t, tt.self...))
			k, ok := j.KeyFor(hostOf(tt.host))
			if !ok || k.String() != tt.want {
				t.Fatalf("KeyFor(%s) = %v, want %s", tt.host, k, tt.want)
			}
			var d Decision
			for i := range cfg.MaxRetry {
				d, _ = j.Add(hit(tt.host, 1), ts(time.Duration(i)*time.Second), nil)
			}
			if d.Action != ActionBan || d.Key != k {
				t.Errorf("ban %+v, want %s", d, tt.want)
			}
		})
	}
}

func TestIgnores(t *testing.T) {
	cfg := basic()
	cfg.IgnoreIP = mustPrefixes(t, "10.0.0.0/8", "2001:db8:ffff::/48")
	j := mustNew(t, cfg)
	j.SetSelf(mustPrefixes(t, "203.0.113.5/32", "2001:db8:1:2::5/128"))
	tests := []struct {
		key    Key
		reason string // "" for not ignored
	}{
		{Key{Prefix: netip.MustParsePrefix("10.1.2.3/32")}, "ignoreip 10.0.0.0/8"},
		{Key{Prefix: netip.MustParsePrefix("10.0.0.0/7")}, "ignoreip 10.0.0.0/8"}, // holds it
		{Key{Prefix: netip.MustParsePrefix("::ffff:10.1.2.3/128")}, "ignoreip 10.0.0.0/8"},
		{Key{Prefix: netip.MustParsePrefix("11.0.0.1/32")}, ""},
		{Key{Prefix: netip.MustParsePrefix("203.0.113.5/32")}, "own address (ignoreself) 203.0.113.5/32"},
		{Key{Prefix: netip.MustParsePrefix("203.0.113.0/24")}, "own address (ignoreself) 203.0.113.5/32"},
		{Key{Prefix: netip.MustParsePrefix("2001:db8:1:2::/64")}, "own address (ignoreself) 2001:db8:1:2::5/128"},
		{Key{Prefix: netip.MustParsePrefix("2001:db8:1:2::9/128")}, ""},
		{Key{Prefix: netip.MustParsePrefix("2001:db8:ffff:1::/64")}, "ignoreip 2001:db8:ffff::/48"},
		{Key{ID: "10.0.0.1"}, ""}, // identities are never ignored
		{Key{}, ""},
	}
	for _, tt := range tests {
		reason, ok := j.Ignores(tt.key)
		if reason != tt.reason || ok != (tt.reason != "") {
			t.Errorf("Ignores(%v) = %q, %v; want %q", tt.key, reason, ok, tt.reason)
		}
	}
}
