package config

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  error // nil: any error when want is 0
	}{
		{"30s", 30 * time.Second, nil},
		{"10m", 10 * time.Minute, nil},
		{"1h30m", 90 * time.Minute, nil},
		{"1d", day, nil},
		{"1w", week, nil},
		{"2d12h", 60 * time.Hour, nil},
		{"1w2d3h4m5s", week + 2*day + 3*time.Hour + 4*time.Minute + 5*time.Second, nil},
		{"1.5d", 36 * time.Hour, nil},
		{"0.5w", 84 * time.Hour, nil},
		{"250ms", 250 * time.Millisecond, nil},
		{"1d1d", 2 * day, nil},
		{"15250w", 15250 * week, nil},
		{"0s", 0, errNotPositive},
		{"0d0h", 0, errNotPositive},
		{"15251w", 0, errTooLong},
		{"15000w2000w", 0, errTooLong},
		{"", 0, nil},
		{"3x", 0, nil},
		{"10", 0, nil},
		{"-1h", 0, nil},
		{"h", 0, nil},
		{"1h 30m", 0, nil},
		{"1.2.3d", 0, nil},
		{"1y", 0, nil},
		{"1D", 0, nil},
	} {
		got, err := parseDuration(tc.in)
		switch {
		case tc.want != 0 && (err != nil || got != tc.want):
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.want == 0 && err == nil:
			t.Errorf("parseDuration(%q) = %v; want an error", tc.in, got)
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("parseDuration(%q) error %v; want %v", tc.in, err, tc.err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{30 * time.Second, "30s"},
		{90 * time.Minute, "1h30m"},
		{day, "1d"},
		{week, "1w"},
		{60 * time.Hour, "2d12h"},
		{8 * day, "1w1d"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		got := formatDuration(tc.in)
		if got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := parseDuration(got); err != nil || back != tc.in {
			t.Errorf("parseDuration(%q) = %v, %v; want %v back", got, back, err, tc.in)
		}
	}
	if got := formatDuration(math.MaxInt64); got == "" {
		t.Error("formatDuration(max) is empty")
	}
}

func TestIgnoreIPForms(t *testing.T) {
	data := "jails:\n  a:\n    filter: sshd\n    ignoreip: [127.0.0.1/8, '::1', 192.0.2.7, '::ffff:198.51.100.1', 2001:db8::1/48, ' 10.1.2.3/16 ']\n"
	c, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Jails[0].Policy.IgnoreIP {
		got = append(got, p.String())
	}
	want := []string{"127.0.0.0/8", "::1/128", "192.0.2.7/32", "198.51.100.1/32", "2001:db8::/48", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ignoreip[%d] = %s, want %s", i, got[i], want[i])
		}
		if !c.Jails[0].Policy.IgnoreIP[i].IsValid() || c.Jails[0].Policy.IgnoreIP[i] != netip.MustParsePrefix(want[i]) {
			t.Errorf("ignoreip[%d] is not the masked prefix %s", i, want[i])
		}
	}
}

func TestPortForms(t *testing.T) {
	data := "jails:\n  a:\n    filter: sshd\n    ports: [1, 65535, '30000-30100', ' 5 - 6 ', '7-7']\n"
	c, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []PortRange{{1, 1}, {65535, 65535}, {30000, 30100}, {5, 6}, {7, 7}}
	got := c.Jails[0].Ports
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ports[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
