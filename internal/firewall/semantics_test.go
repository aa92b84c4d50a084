package firewall

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var ctx = context.Background()

func setup(t *testing.T, fw Firewall, jails ...Jail) {
	t.Helper()
	if err := fw.Setup(ctx, jails); err != nil {
		t.Fatalf("Setup: %v", err)
	}
}

func apply(t *testing.T, fw Firewall, changes ...Change) {
	t.Helper()
	if err := fw.Apply(ctx, changes); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// within reports whether a remaining time is what a fresh ban of d shows.
func within(got, d time.Duration) bool { return got > d-10*time.Second && got <= d }

func ban(jail, prefix string, d time.Duration) Change {
	return Change{Jail: jail, Prefix: netip.MustParsePrefix(prefix), Add: true, Timeout: d}
}

func unban(jail, prefix string) Change {
	return Change{Jail: jail, Prefix: netip.MustParsePrefix(prefix)}
}

// listed returns List's elements as "jail prefix" -> remaining.
func listed(t *testing.T, fw Firewall) map[string]time.Duration {
	t.Helper()
	els, err := fw.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := map[string]time.Duration{}
	for _, e := range els {
		got[e.Jail+" "+e.Prefix.String()] = e.Remaining
	}
	return got
}

// keys returns the sorted keys of listed's map, for messages.
func keys(m map[string]time.Duration) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(sortedStrings(ks), ", ")
}

// checkSemantics runs the same bans and unbans on any backend: the fake and
// the dry-run must hold what the kernel holds.
func checkSemantics(t *testing.T, fw Firewall) {
	t.Helper()
	setup(t, fw, Jail{Name: "j"})
	steps := []struct {
		name    string
		changes []Change
		want    map[string]time.Duration
	}{
		{"adjacent addresses", []Change{ban("j", "10.9.0.1/32", time.Minute), ban("j", "10.9.0.2/32", time.Minute), ban("j", "10.9.0.0/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Minute, "j 10.9.0.2/32": time.Minute}},
		{"re-adding replaces the timeout", []Change{ban("j", "10.9.0.1/32", time.Hour)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"removing a missing element is no error", []Change{unban("j", "10.9.0.0/32"), unban("j", "10.9.9.9/32"), unban("j", "2001:db8::/64")},
			map[string]time.Duration{"j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"a covering prefix replaces the addresses inside", []Change{ban("j", "10.9.0.0/30", 2*time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute}},
		{"an address inside a ban is skipped", []Change{ban("j", "10.9.0.3/32", time.Hour), unban("j", "10.9.0.2/32")},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute}},
		{"remove and re-add in one call", []Change{unban("j", "10.9.0.0/30"), ban("j", "10.9.0.0/30", 3*time.Minute), ban("j", "10.9.0.4/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 3 * time.Minute, "j 10.9.0.4/32": time.Minute}},
		{"IPv6 address and /64", []Change{unban("j", "10.9.0.0/30"), unban("j", "10.9.0.4/32"), ban("j", "2001:db8::1/128", time.Minute), ban("j", "2001:db8:0:1::/64", time.Hour)},
			map[string]time.Duration{"j 2001:db8::1/128": time.Minute, "j 2001:db8:0:1::/64": time.Hour}},
		{"the highest addresses", []Change{unban("j", "2001:db8::1/128"), unban("j", "2001:db8:0:1::/64"), ban("j", "255.255.255.255/32", time.Minute), ban("j", "ffff:ffff:ffff:ffff::/64", time.Minute)},
			map[string]time.Duration{"j 255.255.255.255/32": time.Minute, "j ffff:ffff:ffff:ffff::/64": time.Minute}},
		{"removing the highest addresses; a mapped IPv4", []Change{unban("j", "255.255.255.255/32"), unban("j", "ffff:ffff:ffff:ffff::/64"), ban("j", "::ffff:10.1.1.1/128", time.Minute)},
			map[string]time.Duration{"j 10.1.1.1/32": time.Minute}},
	}
	for _, s := range steps {
		apply(t, fw, s.changes...)
		got := listed(t, fw)
		if len(got) != len(s.want) {
			t.Fatalf("%s: List = %s, want %d elements", s.name, keys(got), len(s.want))
		}
		for k, d := range s.want {
			if !within(got[k], d) {
				t.Fatalf("%s: %s remaining %s, want about %s (List = %v)", s.name, k, got[k], d, got)
			}
		}
	}
}
