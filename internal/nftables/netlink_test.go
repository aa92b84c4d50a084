//go:build linux

package nftables

import (
	"errors"
	"fmt"
	goldenfile "github.com/peerjail/peerjail/internal/golden"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// oneBatch returns the only batch the kernel got, checking its framing.
func oneBatch(t *testing.T, k *fakeKernel) []string {
	t.Helper()
	if len(k.batches) != 1 {
		t.Fatalf("sent %d batches, want exactly one transaction", len(k.batches))
	}
	return described(t, k.batches[0])
}

func described(t *testing.T, batch []netlink.Message) []string {
	t.Helper()
	var out []string
	for _, m := range batch {
		out = append(out, describe(m))
	}
	if len(out) < 2 || out[0] != "BEGIN" || out[len(out)-1] != "END" {
		t.Fatalf("batch is not framed by BEGIN and END: %q", out)
	}
	return out[1 : len(out)-1]
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNetlinkSetupOnEmptyKernel(t *testing.T) {
	k := newFakeKernel()
	fw := k.firewall(t)
	setup(t, fw, firewall.Jail{Name: "sshd", Ports: []firewall.PortRange{{From: 22, To: 22}}, Protocol: "tcp"}, firewall.Jail{Name: "p2p", Ports: []firewall.PortRange{{From: 4001, To: 4001}, {From: 30303, To: 30304}}}, firewall.Jail{Name: "all", IPv6Prefix: 56})
	got := oneBatch(t, k)
	wantLines(t, got, []string{
		"NEWTABLE peerjail", "NEWCHAIN input", "DELRULE input",
		"NEWSET sshd_v4", "NEWSET sshd_v6", "NEWSET sshd_n4", "NEWSET sshd_n6",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWSET p2p_v4", "NEWSET p2p_v6", "NEWSET p2p_n4", "NEWSET p2p_n6",
		// per set: tcp and udp, times two port ranges
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWSET all_v4", "NEWSET all_v6", "NEWSET all_n4", "NEWSET all_n6",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
	})
	if q := strings.Join(k.queries, " "); q != "GETTABLE GETCHAIN" {
		t.Errorf("Setup read %q, want only peerjail's table and the chains", q)
	}
	golden(t, "testdata/setup.golden", hexBatch(k.batches[0]))
}

func TestNetlinkSetupKeepsReplacesAndRemovesSets(t *testing.T) {
	k := newFakeKernel().withSet("keep_v4").withSet("keep_v6").withSet("keep_n4").withSet("keep_n6").
		withSet("old_v4").withSet("old_n6").withSet("bad_v6").withSet("bad_n4")
	k.sets["bad_v6"] = unix.NFT_SET_INTERVAL | unix.NFT_SET_TIMEOUT // the interval sets of before
	k.sets["bad_n4"] = 0                                            // created without timeouts
	fw := k.firewall(t)
	setup(t, fw, firewall.Jail{Name: "keep"}, firewall.Jail{Name: "bad"})
	wantLines(t, oneBatch(t, k), []string{
		"NEWTABLE peerjail", "NEWCHAIN input", "DELRULE input",
		"NEWSET keep_v4", "NEWSET keep_v6", "NEWSET keep_n4", "NEWSET keep_n6",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"NEWSET bad_v4", "DELSET bad_v6", "NEWSET bad_v6", "DELSET bad_n4", "NEWSET bad_n4", "NEWSET bad_n6",
		"NEWRULE input", "NEWRULE input", "NEWRULE input", "NEWRULE input",
		"DELSET old_n6", "DELSET old_v4",
	})
	if q := strings.Join(k.queries, " "); q != "GETTABLE GETSET GETCHAIN" {
		t.Errorf("Setup read %q, want only peerjail's table, sets and the chains", q)
	}
}

func TestNetlinkApplyIsOneTransaction(t *testing.T) {
	k := newFakeKernel().withSet("j_v4").withSet("j_v6").withSet("j_n4",
		fakeElem{addr: "10.0.1.0", timeout: time.Minute, expires: 30 * time.Second},
		fakeElem{addr: "10.0.1.4", end: true},
	).withSet("j_n6")
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	apply(t, fw,
		ban("j", "10.0.0.1/32", time.Hour),                                   // host key: added, or its timeout replaced
		ban("j", "10.0.0.5/32", 1500*time.Microsecond),                       // rounded up to 2ms
		unban("j", "10.0.0.9/32"),                                            // added first, so that the deletion cannot fail
		ban("j", "10.0.1.0/24", time.Hour),                                   // a network over 10.0.1.0/30: replaces it
		ban("j", "10.0.1.7/32", time.Hour),                                   // a host key inside it: its own
		ban("j", "2001:db8::/64", time.Hour),                                 // IPv6 host key
		ban("j", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", time.Minute), // narrowed in a /64 jail: a network, with no end key
	)
	wantLines(t, oneBatch(t, k), []string{
		"NEWSETELEM j_v4: 10.0.0.9/1s",
		"DELSETELEM j_v4: 10.0.0.9",
		"DELSETELEM j_n4: 10.0.1.0 end:10.0.1.4",
		"NEWSETELEM j_v4: 10.0.0.1/1h0m0s 10.0.0.5/2ms 10.0.1.7/1h0m0s",
		"NEWSETELEM j_v6: 2001:db8::/1h0m0s",
		"NEWSETELEM j_n4: 10.0.1.0/1h0m0s end:10.0.2.0",
		"NEWSETELEM j_n6: ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1m0s",
	})
	if q := strings.Join(k.queries, " "); q != "GETTABLE GETSET GETSETELEM GETSETELEM" {
		t.Errorf("Apply read %q, want the network sets only", q)
	}
}

func TestNetlinkHostBansReadNothing(t *testing.T) {
	k := newFakeKernel().withSet("j_v4").withSet("j_v6").withSet("j_n4").withSet("j_n6")
	fw := k.setUp(t, firewall.Jail{Name: "j", IPv6Prefix: 48})
	apply(t, fw, ban("j", "10.0.0.1/32", time.Hour), ban("j", "2001:db8:1::/48", time.Hour), unban("j", "10.0.0.2/32"))
	if len(k.queries) != 0 {
		t.Errorf("Apply of host keys read %q, want nothing read", k.queries)
	}
	wantLines(t, oneBatch(t, k), []string{
		"NEWSETELEM j_v4: 10.0.0.2/1s",
		"DELSETELEM j_v4: 10.0.0.2",
		"NEWSETELEM j_v4: 10.0.0.1/1h0m0s",
		"NEWSETELEM j_v6: 2001:db8:1::/1h0m0s",
	})
}

func TestNetlinkApplyWithNothingToDoSendsNothing(t *testing.T) {
	k := newFakeKernel().withSet("j_n4", fakeElem{addr: "10.1.0.0", timeout: time.Minute, expires: time.Minute}, fakeElem{addr: "10.2.0.0", end: true})
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	apply(t, fw, unban("j", "10.9.9.0/24"), ban("j", "10.1.2.0/24", time.Hour))
	if len(k.batches) != 0 {
		t.Errorf("sent %d batches for changes that change nothing", len(k.batches))
	}
}

func TestNetlinkLargeApplyIsChunkedInOneBatch(t *testing.T) {
	k := newFakeKernel().withSet("j_n6")
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	var changes []firewall.Change
	for i := range 1000 {
		changes = append(changes, ban("j", v6(i)+"/128", time.Hour), ban("j", fmt.Sprintf("10.0.%d.%d/32", i/256, i%256), time.Hour))
	}
	apply(t, fw, changes...)
	if len(k.batches) != 1 {
		t.Fatalf("sent %d batches, want one", len(k.batches))
	}
	elems := 0
	for _, m := range k.batches[0][1 : len(k.batches[0])-1] {
		if len(m.Data) > 0xffff {
			t.Errorf("message of %d bytes: its element list overflows a netlink attribute", len(m.Data))
		}
		n := strings.Count(describe(m), " ") - 1
		if n > chunk+1 {
			t.Errorf("message with %d elements, want at most %d", n, chunk+1)
		}
		elems += n
	}
	if elems != 3000 {
		t.Errorf("batch has %d elements, want 3000 (a start and an end per network, a key per host)", elems)
	}
}

func TestNetlinkApplyRetriesOnWhatTheKernelLists(t *testing.T) {
	k := newFakeKernel().withSet("j_n4", fakeElem{addr: "10.0.0.0", timeout: time.Minute, expires: time.Second}, fakeElem{addr: "10.0.0.4", end: true})
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	k.fail = []unix.Errno{unix.ENOENT}
	apply(t, fw, unban("j", "10.0.0.0/30"))
	if len(k.batches) != 2 || strings.Count(strings.Join(k.queries, " "), "GETSETELEM") != 2 {
		t.Errorf("sent %d batches after reading %q, want a failed one and a retry on a fresh read", len(k.batches), k.queries)
	}
	k.batches, k.queries, k.fail = nil, nil, []unix.Errno{unix.EPERM}
	err := fw.Apply(ctx, []firewall.Change{ban("j", "10.0.0.7/32", time.Hour)})
	if !errors.Is(err, unix.EPERM) || len(k.batches) != 1 {
		t.Errorf("Apply = %v after %d batches, want EPERM after one", err, len(k.batches))
	}
}

func TestNetlinkApplyToUnknownJailSendsNothing(t *testing.T) {
	k := newFakeKernel().withSet("j_v4")
	fw := k.firewall(t)
	err := fw.Apply(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Hour), ban("j", "2001:db8::1/128", time.Hour)})
	if !errors.Is(err, firewall.ErrUnknownJail) || len(k.batches) != 0 {
		t.Errorf("Apply = %v with %d batches, want firewall.ErrUnknownJail and none", err, len(k.batches))
	}
}

func TestNetlinkFlushDeletesOnlyOurTable(t *testing.T) {
	k := newFakeKernel()
	k.fail = []unix.Errno{unix.ENOENT}
	fw := k.firewall(t)
	if err := fw.Flush(ctx); err != nil {
		t.Fatalf("Flush of a missing table: %v", err)
	}
	wantLines(t, oneBatch(t, k), []string{"DELTABLE peerjail"})
}

func TestNetlinkListReadsTimeouts(t *testing.T) {
	k := newFakeKernel().withSet("j_v4",
		fakeElem{addr: "10.0.0.1", timeout: time.Hour, expires: 20 * time.Minute},
	).withSet("j_n4",
		fakeElem{addr: "10.0.1.4", end: true}, // listed before its start
		fakeElem{addr: "10.0.1.0", timeout: time.Hour, expires: 5 * time.Minute},
		fakeElem{addr: "10.0.2.4", end: true}, // the rest of an expired element
		fakeElem{addr: "10.0.3.0", timeout: time.Hour, expires: 5 * time.Minute},
		fakeElem{addr: "10.0.3.5", end: true}, // not a prefix: left out
	).withSet("j_v6",
		fakeElem{addr: "2001:db8::", timeout: time.Hour, expires: time.Hour},
	).withSet("unrelated")
	fw := k.setUp(t, firewall.Jail{Name: "j"})
	got := listed(t, fw)
	want := map[string]time.Duration{"j 10.0.0.1/32": 20 * time.Minute, "j 10.0.1.0/30": 5 * time.Minute, "j 2001:db8::/64": time.Hour}
	if keys(got) != keys(want) || got["j 10.0.0.1/32"] != want["j 10.0.0.1/32"] || got["j 10.0.1.0/30"] != want["j 10.0.1.0/30"] || got["j 2001:db8::/64"] != want["j 2001:db8::/64"] {
		t.Errorf("List = %v, want %v", got, want)
	}
}

func TestNetlinkCallsAfterClose(t *testing.T) {
	fw := newFakeKernel().firewall(t)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Setup(ctx, nil); !errors.Is(err, firewall.ErrClosed) {
		t.Errorf("Setup after Close = %v, want ErrClosed", err)
	}
}

func v6(i int) string {
	return "2001:db8::" + strings.TrimLeft(strings.Repeat("0", 4)+itoaHex(i), "0")
}

func itoaHex(i int) string {
	const digits = "0123456789abcdef"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 16 {
		b = append([]byte{digits[i%16]}, b...)
	}
	return string(b)
}

// hexBatch dumps a batch's messages, headers left out (their sequence
// numbers vary), one line of type and payload each.
func hexBatch(batch []netlink.Message) string {
	var sb strings.Builder
	for _, m := range batch {
		sb.WriteString(describe(m))
		sb.WriteString("\n")
		for i := 0; i < len(m.Data); i += 32 {
			end := min(i+32, len(m.Data))
			sb.WriteString("  ")
			for _, b := range m.Data[i:end] {
				sb.WriteString(string("0123456789abcdef"[b>>4]) + string("0123456789abcdef"[b&15]))
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.CheckString(t, path, got)
}
