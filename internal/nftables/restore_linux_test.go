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
// read the sets, as at start-up, next to elements it does not know.
func TestKernelRestoreAfterRestart(t *testing.T) {
	t.Parallel()
	requireNft(t)
	before, ns := kernelFirewall(t)
	setup(t, before, firewall.Jail{Name: "j"})
	apply(t, before, ban("j", "10.0.0.1/32", time.Minute), ban("j", "10.0.0.2/32", time.Minute))
	ns.MustExec(t, "nft", "add", "element", "inet", firewall.Table, "j_v4", "{ 10.0.0.3 timeout 1h, 10.5.0.0/24 timeout 1h }")

	fw, err := New(WithNetNS(ns.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	setup(t, fw, firewall.Jail{Name: "j"})
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Hour), ban("j", "10.0.0.9/32", time.Hour)}); err != nil {
		t.Fatalf("Restore next to elements it does not know: %v", err)
	}
	want := "j 10.0.0.1/32, j 10.0.0.2/32, j 10.0.0.3/32, j 10.0.0.9/32, j 10.5.0.0/24"
	if got := listed(t, before); keys(got) != want { // before's List: fw's cache stays as Restore left it
		t.Fatalf("after Restore the kernel holds %s, want %s", keys(got), want)
	}
	// A ban inside an element it does not know: the kernel refuses the
	// blind addition, and the plan on the listed set skips it.
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.5.0.7/32", time.Hour)}); err != nil {
		t.Fatalf("Restore inside an unknown wider element: %v", err)
	}
	if got := listed(t, before); keys(got) != want {
		t.Fatalf("after the overlapping Restore the kernel holds %s, want %s", keys(got), want)
	}
	// Removing an element it does not know reads the set first.
	fw2, err := New(WithNetNS(ns.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	setup(t, fw2, firewall.Jail{Name: "j"})
	if err := fw2.Restore(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	apply(t, fw2, unban("j", "10.0.0.3/32"))
	if got := listed(t, before); strings.Contains(keys(got), "10.0.0.3/32") {
		t.Errorf("unban of an element Restore did not know left it: %s", keys(got))
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

func TestNetlinkRestoreReadsNothing(t *testing.T) {
	k := newFakeKernel().withSet("j_v4", fakeElem{addr: "10.0.0.1", timeout: time.Hour, expires: time.Minute}, fakeElem{addr: "10.0.0.2", end: true}).withSet("j_v6")
	fw := k.firewall(t)
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "2001:db8::/64", time.Hour), ban("j", "10.0.0.2/32", time.Hour), ban("j", "10.0.0.1/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(k.queries) != 0 {
		t.Errorf("Restore read %q, want nothing read", k.queries)
	}
	wantLines(t, oneBatch(t, k), []string{
		"NEWSETELEM j_v4: 10.0.0.1/1h0m0s end:10.0.0.2 10.0.0.2/1h0m0s end:10.0.0.3",
		"NEWSETELEM j_v6: 2001:db8::/1h0m0s end:2001:db8:0:1::",
	})
	k.batches = nil
	apply(t, fw, ban("j", "10.0.0.7/32", time.Hour), unban("j", "10.0.0.2/32"))
	if len(k.queries) != 0 {
		t.Errorf("Apply of what Restore knows read %q, want nothing read", k.queries)
	}
	wantLines(t, oneBatch(t, k), []string{"DELSETELEM j_v4: 10.0.0.2 end:10.0.0.3", "NEWSETELEM j_v4: 10.0.0.7/1h0m0s end:10.0.0.8"})
	k.batches = nil
	apply(t, fw, unban("j", "10.0.0.9/32"))
	if q := strings.Join(k.queries, " "); !strings.Contains(q, "GETSETELEM") {
		t.Errorf("removing an element Restore did not know read %q, want the set read", q)
	}
}

func TestNetlinkRestoreFallsBackWhenTheKernelRefuses(t *testing.T) {
	k := newFakeKernel().withSet("j_v4", fakeElem{addr: "10.0.0.0", timeout: time.Hour, expires: time.Hour}, fakeElem{addr: "10.0.1.0", end: true})
	k.fail = []unix.Errno{unix.ENOTEMPTY} // 10.0.0.5 overlaps 10.0.0.0/24
	fw := k.firewall(t)
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.0.0.5/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if q := strings.Join(k.queries, " "); len(k.batches) != 1 || !strings.Contains(q, "GETSETELEM") {
		t.Errorf("after a refused Restore: %d batches, read %q; want the set read and nothing more sent (the ban is covered)", len(k.batches), q)
	}
	k.fail = []unix.Errno{unix.EPERM}
	if err := fw.Restore(ctx, []firewall.Change{ban("j", "10.9.0.1/32", time.Hour)}); !errors.Is(err, unix.EPERM) {
		t.Errorf("Restore = %v, want EPERM", err)
	}
}
