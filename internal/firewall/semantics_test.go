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
