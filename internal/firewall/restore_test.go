package firewall

import (
	"errors"
	"testing"
	"time"
)

func TestFakeRestore(t *testing.T) { checkRestore(t, NewFake()) }

func TestDryRunRestore(t *testing.T) { checkRestore(t, NewDryRun(nil)) }

// checkRestore runs the same start-up restore on any backend: the fake and
// the dry-run must end where the kernel does.
func checkRestore(t *testing.T, fw Firewall) {
	t.Helper()
	setup(t, fw, Jail{Name: "j"})
	apply(t, fw, ban("j", "10.2.0.1/32", time.Minute), ban("j", "10.3.0.1/32", time.Minute))
	if err := fw.Restore(ctx, []Change{unban("j", "10.2.0.1/32")}); !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("Restore of a removal = %v, want ErrInvalidChange", err)
	}
	// The store's bans come in no useful order and may overlap: the widest
	// wins. An element already there takes the ban's timeout; others stay.
	err := fw.Restore(ctx, []Change{
		ban("j", "10.0.0.5/32", time.Hour), ban("j", "10.0.0.0/24", 2*time.Hour), ban("j", "10.0.0.7/32", time.Hour),
		ban("j", "10.1.0.1/32", time.Hour), ban("j", "10.2.0.1/32", 3*time.Hour), ban("j", "2001:db8::/64", time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"j 10.0.0.0/24": 2 * time.Hour, "j 10.1.0.1/32": time.Hour, "j 10.2.0.1/32": 3 * time.Hour,
		"j 10.3.0.1/32": time.Minute, "j 2001:db8::/64": time.Hour,
	}
	got := listed(t, fw)
	if keys(got) != keys(want) {
		t.Fatalf("after Restore List = %s, want %s", keys(got), keys(want))
	}
	for k, d := range want {
		if !within(got[k], d) {
			t.Errorf("after Restore %s remaining %s, want about %s", k, got[k], d)
		}
	}
	// Afterwards Apply works on what Restore left.
	apply(t, fw, unban("j", "10.3.0.1/32"), unban("j", "10.0.0.0/24"), ban("j", "10.1.0.0/16", time.Hour))
	if got := listed(t, fw); keys(got) != "j 10.1.0.0/16, j 10.2.0.1/32, j 2001:db8::/64" {
		t.Errorf("Apply after Restore: List = %s", keys(got))
	}
}
