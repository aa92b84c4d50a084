package firewall

import (
	"context"
	"net/netip"
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
