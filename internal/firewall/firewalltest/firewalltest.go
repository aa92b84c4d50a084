// Package firewalltest holds the checks every firewall.Firewall must pass,
// so that the fake, the dry-run and the nftables backend are held to the
// same behaviour. Only tests import it; a test in cmd/peerjail asserts that
// the binary does not link it.
package firewalltest

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

var ctx = context.Background()

// Setup sets up jails or fails the test.
func Setup(t testing.TB, fw firewall.Firewall, jails ...firewall.Jail) {
	t.Helper()
	if err := fw.Setup(ctx, jails); err != nil {
		t.Fatalf("Setup: %v", err)
	}
}

// Apply applies changes or fails the test.
func Apply(t testing.TB, fw firewall.Firewall, changes ...firewall.Change) {
	t.Helper()
	if err := fw.Apply(ctx, changes); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// Within reports whether a remaining time is what a fresh ban of d shows.
func Within(got, d time.Duration) bool { return got > d-10*time.Second && got <= d }

// Ban is the change that bans prefix in jail for d.
func Ban(jail, prefix string, d time.Duration) firewall.Change {
	return firewall.Change{Jail: jail, Prefix: netip.MustParsePrefix(prefix), Add: true, Timeout: d}
}

// Unban is the change that lifts the ban of prefix in jail.
func Unban(jail, prefix string) firewall.Change {
	return firewall.Change{Jail: jail, Prefix: netip.MustParsePrefix(prefix)}
}

// Listed returns List's elements as "jail prefix" -> remaining.
func Listed(t testing.TB, fw firewall.Firewall) map[string]time.Duration {
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

// Keys returns the sorted keys of Listed's map, for messages.
func Keys(m map[string]time.Duration) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// Semantics runs the same bans and unbans on any backend: the fake and
// the dry-run must hold what the kernel holds.
func Semantics(t *testing.T, fw firewall.Firewall) {
	t.Helper()
	Setup(t, fw, firewall.Jail{Name: "j"})
	steps := []struct {
		name    string
		changes []firewall.Change
		want    map[string]time.Duration
	}{
		{"adjacent addresses", []firewall.Change{Ban("j", "10.9.0.1/32", time.Minute), Ban("j", "10.9.0.2/32", time.Minute), Ban("j", "10.9.0.0/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Minute, "j 10.9.0.2/32": time.Minute}},
		{"re-adding replaces the timeout", []firewall.Change{Ban("j", "10.9.0.1/32", time.Hour)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"removing a missing element is no error", []firewall.Change{Unban("j", "10.9.0.0/32"), Unban("j", "10.9.9.9/32"), Unban("j", "2001:db8::/64")},
			map[string]time.Duration{"j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"a network beside the host keys inside it", []firewall.Change{Ban("j", "10.9.0.0/30", 2*time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"a host key inside a network is its own", []firewall.Change{Ban("j", "10.9.0.3/32", time.Hour), Unban("j", "10.9.0.2/32")},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.3/32": time.Hour}},
		{"remove and re-add in one call", []firewall.Change{Unban("j", "10.9.0.0/30"), Ban("j", "10.9.0.0/30", 3*time.Minute), Ban("j", "10.9.0.4/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 3 * time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.3/32": time.Hour, "j 10.9.0.4/32": time.Minute}},
		{"a wider network replaces the networks inside", []firewall.Change{Ban("j", "10.9.0.0/29", 4*time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/29": 4 * time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.3/32": time.Hour, "j 10.9.0.4/32": time.Minute}},
		{"a network inside a network is skipped", []firewall.Change{Ban("j", "10.9.0.4/30", time.Hour)},
			map[string]time.Duration{"j 10.9.0.0/29": 4 * time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.3/32": time.Hour, "j 10.9.0.4/32": time.Minute}},
		{"unban of the network leaves the host keys", []firewall.Change{Unban("j", "10.9.0.0/29"), Unban("j", "10.9.0.4/30")},
			map[string]time.Duration{"j 10.9.0.1/32": time.Hour, "j 10.9.0.3/32": time.Hour, "j 10.9.0.4/32": time.Minute}},
		{"IPv6 address and /64", []firewall.Change{Unban("j", "10.9.0.1/32"), Unban("j", "10.9.0.3/32"), Unban("j", "10.9.0.4/32"), Ban("j", "2001:db8::1/128", time.Minute), Ban("j", "2001:db8:0:1::/64", time.Hour)},
			map[string]time.Duration{"j 2001:db8::1/128": time.Minute, "j 2001:db8:0:1::/64": time.Hour}},
		{"the highest addresses", []firewall.Change{Unban("j", "2001:db8::1/128"), Unban("j", "2001:db8:0:1::/64"), Ban("j", "255.255.255.255/32", time.Minute), Ban("j", "ffff:ffff:ffff:ffff::/64", time.Minute)},
			map[string]time.Duration{"j 255.255.255.255/32": time.Minute, "j ffff:ffff:ffff:ffff::/64": time.Minute}},
		{"removing the highest addresses; a mapped IPv4", []firewall.Change{Unban("j", "255.255.255.255/32"), Unban("j", "ffff:ffff:ffff:ffff::/64"), Ban("j", "::ffff:10.1.1.1/128", time.Minute)},
			map[string]time.Duration{"j 10.1.1.1/32": time.Minute}},
	}
	for _, s := range steps {
		Apply(t, fw, s.changes...)
		got := Listed(t, fw)
		if len(got) != len(s.want) {
			t.Fatalf("%s: List = %s, want %d elements", s.name, Keys(got), len(s.want))
		}
		for k, d := range s.want {
			if !Within(got[k], d) {
				t.Fatalf("%s: %s remaining %s, want about %s (List = %v)", s.name, k, got[k], d, got)
			}
		}
	}
}

// Restore runs the same start-up restore on any backend: the fake and
// the dry-run must end where the kernel does.
func Restore(t *testing.T, fw firewall.Firewall) {
	t.Helper()
	Setup(t, fw, firewall.Jail{Name: "j"})
	Apply(t, fw, Ban("j", "10.2.0.1/32", time.Minute), Ban("j", "10.3.0.1/32", time.Minute))
	if err := fw.Restore(ctx, []firewall.Change{Unban("j", "10.2.0.1/32")}); !errors.Is(err, firewall.ErrInvalidChange) {
		t.Fatalf("Restore of a removal = %v, want firewall.ErrInvalidChange", err)
	}
	// The store's bans come in no useful order and may overlap: among
	// networks the widest wins, host keys stay beside them. An element
	// already there takes the ban's timeout; others stay.
	err := fw.Restore(ctx, []firewall.Change{
		Ban("j", "10.0.0.5/32", time.Hour), Ban("j", "10.0.0.0/24", 2*time.Hour), Ban("j", "10.0.0.7/32", time.Hour),
		Ban("j", "10.1.0.1/32", time.Hour), Ban("j", "10.2.0.1/32", 3*time.Hour), Ban("j", "2001:db8::/64", time.Hour),
		Ban("j", "10.4.0.0/24", time.Hour), Ban("j", "10.4.0.0/16", 2*time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"j 10.0.0.0/24": 2 * time.Hour, "j 10.0.0.5/32": time.Hour, "j 10.0.0.7/32": time.Hour,
		"j 10.1.0.1/32": time.Hour, "j 10.2.0.1/32": 3 * time.Hour, "j 10.3.0.1/32": time.Minute,
		"j 10.4.0.0/16": 2 * time.Hour, "j 2001:db8::/64": time.Hour,
	}
	got := Listed(t, fw)
	if Keys(got) != Keys(want) {
		t.Fatalf("after Restore List = %s, want %s", Keys(got), Keys(want))
	}
	for k, d := range want {
		if !Within(got[k], d) {
			t.Errorf("after Restore %s remaining %s, want about %s", k, got[k], d)
		}
	}
	// Afterwards Apply works on what Restore left.
	Apply(t, fw, Unban("j", "10.3.0.1/32"), Unban("j", "10.0.0.0/24"), Ban("j", "10.1.0.0/16", time.Hour))
	if got := Listed(t, fw); Keys(got) != "j 10.0.0.5/32, j 10.0.0.7/32, j 10.1.0.0/16, j 10.1.0.1/32, j 10.2.0.1/32, j 10.4.0.0/16, j 2001:db8::/64" {
		t.Errorf("Apply after Restore: List = %s", Keys(got))
	}
}
