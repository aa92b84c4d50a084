package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// state renders spans as "prefix/timeout" in order, for comparisons.
func state(spans []Span) string {
	var out []string
	for _, s := range spans {
		p, ok := s.Prefix()
		if !ok {
			out = append(out, s.First.String()+"-"+s.Last.String())
			continue
		}
		out = append(out, p.String()+"="+s.Remaining.String())
	}
	return strings.Join(out, " ")
}

func spansFrom(t *testing.T, prefixes ...string) []Span {
	t.Helper()
	var out []Span
	for _, p := range prefixes {
		s := SpanOf(netip.MustParsePrefix(p))
		s.Timeout, s.Remaining = time.Hour, time.Minute
		out = append(out, s)
	}
	return out
}

func TestPlanner(t *testing.T) {
	tests := []struct {
		name      string
		existing  []string
		changes   []Change
		final     string
		del, adds string
	}{
		{"add to empty", nil, []Change{ban("j", "10.0.0.1/32", time.Hour)},
			"10.0.0.1/32=1h0m0s", "", "10.0.0.1/32=1h0m0s"},
		{"re-add replaces the timeout", []string{"10.0.0.1/32"}, []Change{ban("j", "10.0.0.1/32", 2*time.Hour)},
			"10.0.0.1/32=2h0m0s", "10.0.0.1/32=1m0s", "10.0.0.1/32=2h0m0s"},
		{"re-add twice sends one", nil, []Change{ban("j", "10.0.0.1/32", time.Hour), ban("j", "10.0.0.1/32", 2*time.Hour)},
			"10.0.0.1/32=2h0m0s", "", "10.0.0.1/32=2h0m0s"},
		{"remove missing", []string{"10.0.0.1/32"}, []Change{unban("j", "10.0.0.2/32")},
			"10.0.0.1/32=1m0s", "", ""},
		{"remove present", []string{"10.0.0.1/32", "10.0.0.2/32"}, []Change{unban("j", "10.0.0.2/32")},
			"10.0.0.1/32=1m0s", "10.0.0.2/32=1m0s", ""},
		{"add then remove sends nothing", nil, []Change{ban("j", "10.0.0.1/32", time.Hour), unban("j", "10.0.0.1/32")},
			"", "", ""},
		{"covered address is skipped", []string{"10.0.0.0/24"}, []Change{ban("j", "10.0.0.7/32", time.Hour)},
			"10.0.0.0/24=1m0s", "", ""},
		{"removing a covered address keeps the wider ban", []string{"10.0.0.0/24"}, []Change{unban("j", "10.0.0.7/32")},
			"10.0.0.0/24=1m0s", "", ""},
		{"covering prefix replaces narrower ones", []string{"10.0.0.1/32", "10.0.0.9/32", "10.0.1.0/32"}, []Change{ban("j", "10.0.0.0/28", time.Hour)},
			"10.0.0.0/28=1h0m0s 10.0.1.0/32=1m0s", "10.0.0.1/32=1m0s 10.0.0.9/32=1m0s", "10.0.0.0/28=1h0m0s"},
		{"order matters: unban wider, then ban narrower", []string{"2001:db8::/64"}, []Change{unban("j", "2001:db8::/64"), ban("j", "2001:db8::1/128", time.Hour)},
			"2001:db8::1/128=1h0m0s", "2001:db8::/64=1m0s", "2001:db8::1/128=1h0m0s"},
		{"adjacent prefixes coexist", []string{"10.0.0.0/31"}, []Change{ban("j", "10.0.0.2/31", time.Hour), ban("j", "9.255.255.255/32", time.Hour)},
			"9.255.255.255/32=1h0m0s 10.0.0.0/31=1m0s 10.0.0.2/31=1h0m0s", "", "9.255.255.255/32=1h0m0s 10.0.0.2/31=1h0m0s"},
		{"an expiring wider element does not cover", []string{"10.0.0.0/24"}, []Change{ban("j", "10.0.0.7/32", time.Hour)},
			"10.0.0.7/32=1h0m0s", "10.0.0.0/24=500ms", "10.0.0.7/32=1h0m0s"},
		{"highest address", nil, []Change{ban("j", "255.255.255.255/32", time.Hour)},
			"255.255.255.255/32=1h0m0s", "", "255.255.255.255/32=1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existing := spansFrom(t, tt.existing...)
			if strings.HasPrefix(tt.name, "an expiring") {
				existing[0].Remaining = 500 * time.Millisecond
			}
			p := NewPlanner(existing)
			for _, c := range tt.changes {
				c, err := normalize(c)
				if err != nil {
					t.Fatal(err)
				}
				if c.Add {
					p.Add(c.Prefix, c.Timeout)
				} else {
					p.Remove(c.Prefix)
				}
			}
			if got := state(p.Spans); got != tt.final {
				t.Errorf("final = %q, want %q", got, tt.final)
			}
			if got := state(p.Del); got != tt.del {
				t.Errorf("deleted = %q, want %q", got, tt.del)
			}
			if got := state(p.Adds()); got != tt.adds {
				t.Errorf("added = %q, want %q", got, tt.adds)
			}
		})
	}
}

func TestNewPlannerDropsOverlaps(t *testing.T) {
	p := NewPlanner(spansFrom(t, "10.0.0.8/29", "10.0.0.0/24", "10.0.1.0/24"))
	if got := state(p.Spans); got != "10.0.0.0/24=1m0s 10.0.1.0/24=1m0s" {
		t.Errorf("spans = %q: overlapping input must not reach the kernel", got)
	}
}

func TestSpanPrefix(t *testing.T) {
	tests := []struct {
		first, last string
		want        string // "" when not a prefix
	}{
		{"10.0.0.1", "10.0.0.1", "10.0.0.1/32"},
		{"10.0.0.0", "10.0.0.255", "10.0.0.0/24"},
		{"10.0.0.0", "10.0.0.254", ""},
		{"10.0.0.1", "10.0.0.2", ""},
		{"0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64"},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
	}
	for _, tt := range tests {
		s := Span{First: netip.MustParseAddr(tt.first), Last: netip.MustParseAddr(tt.last)}
		p, ok := s.Prefix()
		if got := map[bool]string{true: p.String(), false: ""}[ok]; got != tt.want {
			t.Errorf("%s-%s: prefix = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"10.1.2.3/32": "10.1.2.3", "10.1.2.3/24": "10.1.2.255", "0.0.0.0/0": "255.255.255.255",
		"2001:db8::1/128": "2001:db8::1", "2001:db8::/64": "2001:db8::ffff:ffff:ffff:ffff",
		"2001:db8::/63": "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8::/65": "2001:db8::7fff:ffff:ffff:ffff",
	} {
		if got := LastAddr(netip.MustParsePrefix(p)).String(); got != want {
			t.Errorf("LastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

// refApply is the Planner's semantics written the slow, obvious way.
func refApply(spans []Span, c Change) []Span {
	s := SpanOf(c.Prefix)
	if !c.Add {
		return slices.DeleteFunc(spans, func(o Span) bool { return o.Same(s) })
	}
	for _, o := range spans {
		if o.Contains(s) && !o.Same(s) && !o.Expiring() {
			return spans
		}
	}
	s.Timeout, s.Remaining = c.Timeout, c.Timeout
	spans = slices.DeleteFunc(spans, func(o Span) bool {
		return o.First.Compare(s.Last) <= 0 && s.First.Compare(o.Last) <= 0
	})
	spans = append(spans, s)
	slices.SortFunc(spans, func(a, b Span) int { return a.First.Compare(b.First) })
	return spans
}
