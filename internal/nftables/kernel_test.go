//go:build linux

package nftables

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

func TestKernelBanIsInTheSetWithItsTimeout(t *testing.T) {
	t.Parallel()
	requireNft(t)
	fw, ns := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "sshd", Ports: []firewall.PortRange{{From: 22, To: 22}}, Protocol: "tcp"}, firewall.Jail{Name: "p2p", Protocol: "all"})
	apply(t, fw,
		ban("sshd", "10.1.2.3/32", time.Minute),
		ban("p2p", "2001:db8::1/128", 90*time.Second),
		ban("p2p", "2001:db8:1:2::/64", 2*time.Minute),
		ban("p2p", "192.0.2.0/24", 3*time.Minute),
	)
	want := map[string]time.Duration{
		"sshd 10.1.2.3/32":      time.Minute,
		"p2p 2001:db8::1/128":   90 * time.Second,
		"p2p 2001:db8:1:2::/64": 2 * time.Minute,
		"p2p 192.0.2.0/24":      3 * time.Minute,
	}
	got := listed(t, fw)
	if len(got) != len(want) {
		t.Fatalf("List = %s, want %d elements", keys(got), len(want))
	}
	for k, d := range want {
		if !within(got[k], d) {
			t.Errorf("List: %s remaining %s, want about %s", k, got[k], d)
		}
	}
	cross := []struct {
		set    string
		prefix string
		secs   int
	}{
		{"sshd_v4", "10.1.2.3/32", 60},
		{"p2p_n6", "2001:db8::1/128", 90},     // narrowed in a /64 jail: a network
		{"p2p_v6", "2001:db8:1:2::/128", 120}, // a /64 host key is its first address
		{"p2p_n4", "192.0.2.0/24", 180},
	}
	for _, c := range cross {
		els := nftSet(t, ns, c.set)
		e, ok := els[mustPrefix(c.prefix)]
		if !ok {
			t.Errorf("nft list set %s: %s missing (have %v)", c.set, c.prefix, els)
			continue
		}
		if e.timeout != c.secs || e.expires > c.secs || e.expires < c.secs-10 {
			t.Errorf("nft list set %s: %s timeout %ds expires %ds, want timeout %ds", c.set, c.prefix, e.timeout, e.expires, c.secs)
		}
	}
	for _, set := range []string{"sshd_v6", "sshd_n4", "sshd_n6"} {
		if els := nftSet(t, ns, set); len(els) != 0 {
			t.Errorf("%s = %v, want empty", set, els)
		}
	}
}

func TestKernelSetupKeepsBansAndRemovesOldJails(t *testing.T) {
	t.Parallel()
	requireNft(t)
	fw, ns := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "a", Ports: []firewall.PortRange{{From: 4001, To: 4001}}, Protocol: "tcp"}, firewall.Jail{Name: "b"})
	apply(t, fw, ban("a", "10.0.0.1/32", time.Hour), ban("a", "2001:db8::/64", time.Hour), ban("b", "10.0.0.2/32", time.Hour))
	// A reload: jail a changes its ports, jail b goes, jail c comes.
	setup(t, fw, firewall.Jail{Name: "a", Ports: []firewall.PortRange{{From: 4001, To: 4002}}, Protocol: "udp"}, firewall.Jail{Name: "c"})
	got := listed(t, fw)
	if len(got) != 2 || !within(got["a 10.0.0.1/32"], time.Hour) || !within(got["a 2001:db8::/64"], time.Hour) {
		t.Errorf("after re-Setup List = %v, want jail a's two bans kept", got)
	}
	sets := ns.MustExec(t, "nft", "list", "table", "inet", firewall.Table)
	for _, gone := range []string{"b_v4", "b_v6", "b_n4", "b_n6"} {
		if strings.Contains(sets, "set "+gone+" ") {
			t.Errorf("set %s still there after its jail went:\n%s", gone, sets)
		}
	}
	for _, kept := range []string{"a_v4", "a_v6", "a_n4", "a_n6", "c_v4", "c_v6", "c_n4", "c_n6"} {
		if !strings.Contains(sets, "set "+kept+" ") {
			t.Errorf("set %s missing:\n%s", kept, sets)
		}
	}
	chain := ns.MustExec(t, "nft", "list", "chain", "inet", firewall.Table, firewall.Chain)
	for _, want := range []string{"udp dport 4001-4002 ip saddr @a_v4 counter", "udp dport 4001-4002 ip6 saddr & ffff:ffff:ffff:ffff:: == @a_v6 counter", "\t\tip6 saddr @c_n6 counter"} {
		if !strings.Contains(chain, want) {
			t.Errorf("chain lacks %q:\n%s", want, chain)
		}
	}
	if strings.Contains(chain, "tcp") {
		t.Errorf("chain still has jail a's old tcp rule:\n%s", chain)
	}
	// Setup twice with the same jails changes nothing.
	before := ns.MustExec(t, "nft", "list", "table", "inet", firewall.Table)
	setup(t, fw, firewall.Jail{Name: "a", Ports: []firewall.PortRange{{From: 4001, To: 4002}}, Protocol: "udp"}, firewall.Jail{Name: "c"})
	if after := ns.MustExec(t, "nft", "list", "table", "inet", firewall.Table); stripExpires(after) != stripExpires(before) {
		t.Errorf("second Setup changed the table:\n%s\nwant\n%s", after, before)
	}
}

func TestKernelApplySemantics(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	checkSemantics(t, fw)
}

func TestKernelApplyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "j"})
	err := fw.Apply(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Minute), ban("nojail", "10.0.0.2/32", time.Minute)})
	if !errors.Is(err, firewall.ErrUnknownJail) {
		t.Fatalf("Apply to a jail not set up: err = %v, want ErrUnknownJail", err)
	}
	if got := listed(t, fw); len(got) != 0 {
		t.Errorf("failed Apply left %v", got)
	}
	if err := fw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fw.Apply(ctx, []firewall.Change{ban("j", "10.0.0.1/32", time.Minute)}); !errors.Is(err, firewall.ErrUnknownJail) {
		t.Errorf("Apply after Flush: err = %v, want ErrUnknownJail", err)
	}
}

func TestKernelSetupReplacesASetOfAnotherType(t *testing.T) {
	t.Parallel()
	requireNft(t)
	fw, ns := kernelFirewall(t)
	nftFile(t, ns, "table inet peerjail { set x_v4 { type ipv4_addr; elements = { 10.0.0.1 }; }; set x_n4 { type ipv4_addr; elements = { 10.0.0.2 }; }; }")
	setup(t, fw, firewall.Jail{Name: "x"})
	apply(t, fw, ban("x", "10.0.0.0/24", time.Minute), ban("x", "10.0.0.9/32", time.Minute))
	if got := listed(t, fw); len(got) != 2 || !within(got["x 10.0.0.0/24"], time.Minute) || !within(got["x 10.0.0.9/32"], time.Minute) {
		t.Errorf("List = %v, want the two bans only", got)
	}
}

// TestKernelSetupReplacesTheHostSetWhenTheIPv6PrefixChanges: keys made at
// /64 mean other hosts at /56, so the set is replaced (the daemon restores
// its bans at the new length afterwards).
func TestKernelSetupReplacesTheHostSetWhenTheIPv6PrefixChanges(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "x"})
	apply(t, fw, ban("x", "2001:db8:0:1::/64", time.Minute), ban("x", "10.0.0.1/32", time.Minute))
	setup(t, fw, firewall.Jail{Name: "x", IPv6Prefix: 56})
	if got := keys(listed(t, fw)); got != "x 10.0.0.1/32" {
		t.Errorf("after the prefix changed List = %s, want the IPv4 ban only", got)
	}
	apply(t, fw, ban("x", "2001:db8:0:100::/56", time.Minute))
	if got := keys(listed(t, fw)); got != "x 10.0.0.1/32, x 2001:db8:0:100::/56" {
		t.Errorf("List = %s, want the /56 as a host key", got)
	}
}

func TestKernelLeavesOtherTablesAlone(t *testing.T) {
	t.Parallel()
	requireNft(t)
	fw, ns := kernelFirewall(t)
	nftFile(t, ns, `table inet other {
	set friends { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.0.2.7 }; }
	chain input { type filter hook input priority 0; policy accept; ip saddr @friends counter accept; }
}
table ip peerjail { chain c { ip saddr 10.0.0.1 drop; }; }
`)
	snapshot := func() string {
		return ns.MustExec(t, "nft", "list", "table", "inet", "other") + ns.MustExec(t, "nft", "list", "table", "ip", "peerjail")
	}
	before := snapshot()
	setup(t, fw, firewall.Jail{Name: "j"})
	apply(t, fw, ban("j", "10.0.0.1/32", time.Minute))
	listed(t, fw)
	if err := fw.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if after := snapshot(); after != before {
		t.Errorf("other tables changed:\n%s\nwant\n%s", after, before)
	}
	tables := ns.MustExec(t, "nft", "list", "tables")
	if strings.Contains(tables, "inet peerjail") {
		t.Errorf("Flush left table inet peerjail:\n%s", tables)
	}
	if err := fw.Flush(ctx); err != nil {
		t.Errorf("Flush without a table: %v", err)
	}
	if els, err := fw.List(ctx); err != nil || len(els) != 0 {
		t.Errorf("List without a table = %v, %v; want nothing, no error", els, err)
	}
}

func TestKernelLargeBurstIsOneApply(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "j"})
	var changes []firewall.Change
	for i := range 3000 {
		changes = append(changes,
			ban("j", fmt.Sprintf("10.%d.%d.1/32", i/256, i%256), time.Hour),
			ban("j", fmt.Sprintf("2001:db8:%x::/64", i), time.Hour))
	}
	apply(t, fw, changes...)
	if got := listed(t, fw); len(got) != len(changes) {
		t.Fatalf("List has %d elements, want %d", len(got), len(changes))
	}
	// Re-adding them all replaces every timeout in one transaction.
	apply(t, fw, changes...)
	if got := listed(t, fw); len(got) != len(changes) {
		t.Fatalf("after re-adding List has %d elements, want %d", len(got), len(changes))
	}
}

func nftFile(t *testing.T, ns interface {
	Exec(...string) (string, error)
}, ruleset string) {
	t.Helper()
	path := t.TempDir() + "/ruleset.nft"
	if err := writeFile(path, ruleset); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Exec("nft", "-f", path); err != nil {
		t.Fatal(err)
	}
}

// TestKernelMatchesTheFake sends the same random bursts, rich in overlaps
// of host keys and networks, to the kernel and to the fake: both must end
// with the same elements.
func TestKernelMatchesTheFake(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	fake := firewall.NewFake()
	r := rand.New(rand.NewPCG(1, 2))
	setup(t, fw, firewall.Jail{Name: "j"})
	setup(t, fake, firewall.Jail{Name: "j"})
	for range 60 {
		var changes []firewall.Change
		for range r.IntN(6) + 1 {
			c := firewall.Change{Jail: "j", Add: r.IntN(3) > 0, Timeout: time.Duration(r.IntN(3)+1) * time.Hour}
			if r.IntN(2) == 0 {
				c.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(64))}), 26+r.IntN(7)).Masked()
			} else {
				c.Prefix = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(64))}), 122+r.IntN(7)).Masked()
			}
			changes = append(changes, c)
		}
		apply(t, fw, changes...)
		apply(t, fake, changes...)
	}
	got, want := listed(t, fw), listed(t, fake)
	if keys(got) != keys(want) {
		t.Fatalf("kernel holds %s\nfake holds   %s", keys(got), keys(want))
	}
	for k, d := range want {
		if got[k] > d || got[k] < d-10*time.Second {
			t.Errorf("%s: kernel %s, fake %s", k, got[k], d)
		}
	}
}

// TestKernelBanAgainAroundExpiry bans an address again just before and
// just after its ban expired, when the kernel may or may not still hold it,
// and a host inside a network about to expire: all must leave the new ban in
// place.
func TestKernelBanAgainAroundExpiry(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, firewall.Jail{Name: "j"})
	apply(t, fw, ban("j", "10.0.0.1/32", time.Second), ban("j", "10.0.0.2/32", time.Second), ban("j", "10.0.1.0/24", 1500*time.Millisecond))
	time.Sleep(1200 * time.Millisecond)
	apply(t, fw, ban("j", "10.0.0.1/32", time.Hour), ban("j", "10.0.1.1/32", time.Hour)) // within the margin
	time.Sleep(2100 * time.Millisecond)
	apply(t, fw, ban("j", "10.0.0.2/32", time.Hour)) // past it
	got := listed(t, fw)
	if len(got) != 3 || !within(got["j 10.0.0.1/32"], time.Hour) || !within(got["j 10.0.0.2/32"], time.Hour) || !within(got["j 10.0.1.1/32"], time.Hour) {
		t.Errorf("List = %v, want the three new one-hour bans", got)
	}
}
