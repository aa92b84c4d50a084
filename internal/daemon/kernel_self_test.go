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
