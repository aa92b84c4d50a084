//go:build linux

package daemon

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
)

// These tests run the daemon against the real kernel, inside a network
// namespace of their own (kernelenv_test.go): they need root, iproute2 and
// nft, and are skipped with the reason otherwise.

func TestKernelBanFromFileAndUnban(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	kd := env.start(t)
	env.appendLines(t, failed("198.51.100.7", 3)...)
	if rem := env.waitElement(t, "ssh 198.51.100.7/32"); !near(rem, time.Hour-5*time.Second, 5*time.Second) {
		t.Errorf("List: remaining %v, want about 1h", rem)
	}
	// The ban runs from the line's time, which has whole seconds.
	if e, ok := env.nftSet(t, "ssh_v4")[netip.MustParsePrefix("198.51.100.7/32")]; !ok || e.timeout > 3600 || e.timeout < 3590 || e.expires > e.timeout {
		t.Errorf("nft list set ssh_v4: 198.51.100.7 present %v, timeout %ds, expires %ds; want about 3600s", ok, e.timeout, e.expires)
	}
	c := env.client()
	ctx := context.Background()
	if _, err := c.Ban(ctx, "ssh", "2001:db8:1:2::9", 10*time.Minute, false); err != nil {
		t.Fatal(err)
	}
	// The /64 is a host key: its first address in the hash set. Its
	// timeout is what is left of the ban when it is added, which nft shows
	// in whole seconds: 599 once a millisecond has passed.
	if e, ok := env.nftSet(t, "ssh_v6")[netip.MustParsePrefix("2001:db8:1:2::/128")]; !ok || e.timeout < 599 || e.timeout > 600 {
		t.Errorf("nft list set ssh_v6: 2001:db8:1:2:: present %v, timeout %ds; want 600s (599 once time has passed)", ok, e.timeout)
	}
	if n, err := c.Unban(ctx, "ssh", "198.51.100.7", false); err != nil || n != 1 {
		t.Fatalf("unban: %d, %v", n, err)
	}
	got := env.elements(t)
	if _, ok := got["ssh 198.51.100.7/32"]; ok || len(got) != 1 {
		t.Errorf("after unban List = %v, want only the IPv6 ban", got)
	}
	if els := env.nftSet(t, "ssh_v4"); len(els) != 0 {
		t.Errorf("after unban nft list set ssh_v4 = %v, want empty", els)
	}
	kd.stop(t)
	env.checkOther(t)
}

// A restart leaves the bans in the kernel with the time they had left, and
// the daemon goes on banning.
func TestKernelRestartKeepsBans(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	kd := env.start(t)
	env.appendLines(t, failed("198.51.100.7", 3)...)
	env.waitElement(t, "ssh 198.51.100.7/32")
	until := bannedIn(t, env.client(), "ssh")["198.51.100.7"].Until
	kd.stop(t)
	if _, ok := env.elements(t)["ssh 198.51.100.7/32"]; !ok {
		t.Fatal("the ban left the kernel when the daemon stopped")
	}

	kd = env.start(t)
	rem, ok := env.elements(t)["ssh 198.51.100.7/32"]
	if want := time.Until(until); !ok || !near(rem, want, 2*time.Second) {
		t.Errorf("after restart: in kernel %v, remaining %v; want %v", ok, rem, want)
	}
	if b := bannedIn(t, env.client(), "ssh")["198.51.100.7"]; !b.Until.Equal(until) {
		t.Errorf("after restart status says until %v, want %v", b.Until, until)
	}
	env.appendLines(t, failed("203.0.113.5", 3)...)
	env.waitElement(t, "ssh 203.0.113.5/32")
	kd.stop(t)
	env.checkOther(t)
}

// What changed in the kernel while the daemon was down is reconciled: a ban
// the store has is put back with its remaining time before READY, an element
// only the kernel has is adopted, and an ended ban is dropped.
func TestKernelRestoreAndAdopt(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	kd := env.start(t)
	c, ctx := env.client(), context.Background()
	env.appendLines(t, failed("198.51.100.7", 3)...)
	env.waitElement(t, "ssh 198.51.100.7/32")
	if _, err := c.Ban(ctx, "ssh", "2001:db8::1", 30*time.Minute, false); err != nil { // bans its /64
		t.Fatal(err)
	}
	short, err := c.Ban(ctx, "ssh", "203.0.113.9", time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	until := bannedIn(t, c, "ssh")["198.51.100.7"].Until
	kd.stop(t)

	env.ns.MustExec(t, "nft", "delete", "element", "inet", firewall.Table, "ssh_v4", "{ 198.51.100.7 }")
	env.ns.MustExec(t, "nft", "add", "element", "inet", firewall.Table, "ssh_v4", "{ 192.0.2.44 timeout 20m, 192.0.2.45 timeout 20m }")
	// The behaviour under test: the short ban ends, on the kernel's own
	// clock, while no daemon runs.
	time.Sleep(time.Until(short.Until) + 100*time.Millisecond)

	kd = env.start(t)
	got := env.elements(t)
	if rem, ok := got["ssh 198.51.100.7/32"]; !ok || !near(rem, time.Until(until), 2*time.Second) {
		t.Errorf("deleted ban after start: in kernel %v, remaining %v; want %v", ok, rem, time.Until(until))
	}
	if _, ok := got["ssh 2001:db8::/64"]; !ok {
		t.Errorf("the IPv6 ban is gone after restart: %v", got)
	}
	// Adoption may finish after READY.
	var adopted map[string]control.Banned
	waitFor(t, "the hand-made elements adopted", func() bool {
		adopted = bannedIn(t, c, "ssh")
		_, ok1 := adopted["192.0.2.44"]
		_, ok2 := adopted["192.0.2.45"]
		return ok1 && ok2
	})
	if rem := time.Duration(adopted["192.0.2.44"].Remaining); !near(rem, 20*time.Minute, 5*time.Second) {
		t.Errorf("adopted ban remaining %v, want about 20m", rem)
	}
	if _, ok := adopted["203.0.113.9"]; ok {
		t.Error("a ban that ended while the daemon was down is still listed")
	}
	// An adopted ban is the daemon's like any other: unban lifts it.
	if n, err := c.Unban(ctx, "ssh", "192.0.2.45", false); err != nil || n != 1 {
		t.Fatalf("unban adopted: %d, %v", n, err)
	}
	if _, ok := env.nftSet(t, "ssh_v4")[netip.MustParsePrefix("192.0.2.45/32")]; ok {
		t.Error("unbanned adopted element still in the kernel")
	}
	kd.stop(t)
	bans := storedBans(t, env.statePath())
	if _, ok := bans["ssh 192.0.2.44"]; !ok {
		t.Errorf("adopted ban not in the store: %v", bans)
	}
	for _, gone := range []string{"ssh 192.0.2.45", "ssh 203.0.113.9"} {
		if _, ok := bans[gone]; ok {
			t.Errorf("%s still in the store", gone)
		}
	}
	env.checkOther(t)
}
