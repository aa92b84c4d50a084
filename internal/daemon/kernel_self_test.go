//go:build linux

package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// In a namespace of its own: an address added to an interface after the
// daemon started is its own at once, and a hit from it is ignored, while
// the same lines from another host ban it in the kernel.
func TestKernelAddressAddedAfterStartNotBanned(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	mustWrite(t, env.cfg, fmt.Sprintf(selfConfig, env.logFile))
	o := env.options(t)
	o.NetNS = env.fd
	kd := env.startWith(t, o)
	own := netip.MustParsePrefix("10.77.0.1/32")
	if slices.Contains(kd.d.self.current(), own) {
		t.Fatal("10.77.0.1 is an own address before it was added")
	}
	env.ns.MustExec(t, "ip", "link", "set", "lo", "up")
	env.ns.MustExec(t, "ip", "addr", "add", "10.77.0.1/24", "dev", "lo")
	waitFor(t, "the new address seen", func() bool { return slices.Contains(kd.d.self.current(), own) })
	env.appendLines(t, failed("10.77.0.1", 3)...)
	env.appendLines(t, failed("198.51.100.7", 3)...)
	env.waitElement(t, "ssh 198.51.100.7/32")
	if _, ok := env.elements(t)["ssh 10.77.0.1/32"]; ok {
		t.Fatal("the address added after start was banned in the kernel")
	}
	// Removed again, it is no longer protected.
	env.ns.MustExec(t, "ip", "addr", "del", "10.77.0.1/24", "dev", "lo")
	waitFor(t, "the address gone", func() bool { return !slices.Contains(kd.d.self.current(), own) })
	env.appendLines(t, failed("10.77.0.1", 3)...)
	if rem := env.waitElement(t, "ssh 10.77.0.1/32"); rem <= 0 || rem > time.Hour {
		t.Errorf("remaining %v", rem)
	}
	kd.stop(t)
	env.checkOther(t)
}

// In a namespace of its own, with an IPv6 address of the host's own in
// 2001:db8:1::/64: a peer inside that /64 is banned alone (its /128), not
// with the host's whole /64; ::2 is banned alone, not as ::/64, which would
// hold ::1; and loopback, unspecified, broadcast, multicast and link-local
// addresses of both families are never banned, however many lines name them.
func TestKernelOwnPrefixAndSpecialAddressesNeverBanned(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	mustWrite(t, env.cfg, fmt.Sprintf(selfConfig, env.logFile))
	o := env.options(t)
	o.NetNS = env.fd
	env.ns.MustExec(t, "ip", "link", "set", "lo", "up")
	env.ns.MustExec(t, "ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "lo")
	kd := env.startWith(t, o)
	waitFor(t, "the own address seen", func() bool {
		return slices.Contains(kd.d.self.current(), netip.MustParsePrefix("2001:db8:1::1/128"))
	})
	special := []string{"127.0.0.2", "0.0.0.0", "255.255.255.255", "224.0.0.5", "169.254.1.1",
		"::", "::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "2001:db8:1::1"}
	for _, a := range special {
		env.appendLines(t, failed(a, 5)...)
	}
	env.appendLines(t, failed("2001:db8:1::5", 3)...)
	env.appendLines(t, failed("::2", 3)...)
	// Lines are counted in order: once the last host is banned, every line
	// before it has been counted too.
	env.appendLines(t, failed("198.51.100.9", 3)...)
	env.waitElement(t, "ssh 198.51.100.9/32")
	got := env.elements(t)
	want := []string{"ssh 198.51.100.9/32", "ssh 2001:db8:1::5/128", "ssh ::2/128"}
	for _, id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("kernel lacks %s; holds %v", id, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("kernel holds %v, want only %v", got, want)
	}
	kd.stop(t)
	env.checkOther(t)
}
