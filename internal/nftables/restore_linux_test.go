//go:build linux

package nftables

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

func TestKernelRestore(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	checkRestore(t, fw)
}

// TestKernelRestoreAfterRestart restores with a backend that has never
// read the sets, as at start-up, next to elements it does not know, and
// works with a backend that has not set up (peerjail's other commands).
func TestKernelRestoreAfterRestart(t *testing.T) {
	t.Parallel()
	requireNft(t)
	before, ns := kernelFirewall(t)
	setup(t, before, firewall.Jail{Name: "j", IPv6Prefix: 56})
	apply(t, before, ban("j", "10.0.0.1/32", time.Minute), ban("j", "10.0.0.2/32", time.Minute))
	ns.MustExec(t, "nft", "add", "element", "inet", firewall.Table, "j_v4", "{ 10.0.0.3 timeout 1h }")
	ns.MustExec(t, "nft", "add", "element", "inet", firewall.Table, "j_n4", "{ 10.5.0.0/24 timeout 1h }")

	fw, err := New(WithNetNS(ns.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	setup(t, fw, firewall.Jail{Name: "j", IPv6Prefix: 56})
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Hour), ban("j", "10.0.0.9/32", time.Hour), ban("j", "10.5.0.0/16", time.Hour)}); err != nil {
		t.Fatalf("Restore next to elements it does not know: %v", err)
	}
	want := "j 10.0.0.1/32, j 10.0.0.2/32, j 10.0.0.3/32, j 10.0.0.9/32, j 10.5.0.0/16"
	if got := listed(t, before); keys(got) != want {
		t.Fatalf("after Restore the kernel holds %s, want %s", keys(got), want)
	}
	if got := listed(t, before)["j 10.0.0.1/32"]; !within(got, time.Hour) {
		t.Errorf("after Restore 10.0.0.1 has %s left, want the ban's hour", got)
	}
	// A backend that never set up learns the jail's IPv6 length from the
	// rules in the kernel.
	other, err := New(WithNetNS(ns.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, other, ban("j", "2001:db8:0:100::/56", time.Hour), unban("j", "10.0.0.3/32"))
	want = "j 10.0.0.1/32, j 10.0.0.2/32, j 10.0.0.9/32, j 10.5.0.0/16, j 2001:db8:0:100::/56"
	if got := listed(t, other); keys(got) != want {
		t.Fatalf("a backend that did not set up lists %s, want %s", keys(got), want)
	}
	if e, ok := nftSet(t, ns, "j_v6")[mustPrefix("2001:db8:0:100::/128")]; !ok || e.timeout != 3600 {
		t.Errorf("nft list set j_v6: the /56 key present %v, timeout %ds; want its first address for an hour", ok, e.timeout)
	}
}

// TestKernelListWhileApplying lists a set while bans come and go: the
// listing must be whole, not torn by the transactions.
func TestKernelListWhileApplying(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "j"})
	const n = 20000
	var initial []firewall.Change
	for i := range n {
		initial = append(initial, ban("j", netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String()+"/32", time.Hour))
	}
	if err := fw.Restore(ctx, initial); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var got map[string]time.Duration
	wg.Go(func() { got = listed(t, fw) })
	for i := range 30 { // removals shift what a torn dump walks past
		apply(t, fw, ban("j", fmt.Sprintf("10.2.0.%d/32", i), time.Hour))
		apply(t, fw, unban("j", fmt.Sprintf("10.2.0.%d/32", i)))
	}
	wg.Wait()
	for _, c := range initial {
		if _, ok := got["j "+c.Prefix.String()]; !ok {
			t.Fatalf("List while applying misses %s (%d of %d+30 listed)", c.Prefix, len(got), n)
		}
	}
	for k := range got {
		if !strings.HasPrefix(k, "j 10.1.") && !strings.HasPrefix(k, "j 10.2.0.") {
			t.Fatalf("List while applying shows %s, which was never added", k)
		}
	}
}

func TestNetlinkRestoreReadsOnlyNetworkSets(t *testing.T) {
	k := newFakeKernel().withSet("j_v4").withSet("j_v6").withSet("j_n4").withSet("j_n6")
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "2001:db8::/64", time.Hour), ban("j", "10.0.0.2/32", time.Hour), ban("j", "10.0.0.1/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(k.queries) != 0 {
		t.Errorf("Restore of host keys read %q, want nothing read", k.queries)
	}
	wantLines(t, oneBatch(t, k), []string{
		"NEWSETELEM j_v4: 10.0.0.1/1h0m0s 10.0.0.2/1h0m0s",
		"NEWSETELEM j_v6: 2001:db8::/1h0m0s",
	})
	k.batches = nil
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.0.0.0/24", time.Hour), ban("j", "10.0.0.7/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if q := strings.Join(k.queries, " "); q != "GETTABLE GETSET GETSETELEM" {
		t.Errorf("Restore of a network read %q, want its network set", q)
	}
	wantLines(t, oneBatch(t, k), []string{
		"NEWSETELEM j_v4: 10.0.0.7/1h0m0s",
		"NEWSETELEM j_n4: 10.0.0.0/1h0m0s end:10.0.1.0",
	})
	k.batches, k.fail = nil, []unix.Errno{unix.EPERM}
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.9.0.1/32", time.Hour)}); !errors.Is(err, unix.EPERM) {
		t.Errorf("Restore = %v, want EPERM", err)
	}
}
