//go:build linux

package firewall

import (
	"context"
	"errors"
	"fmt"
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

func TestKernelBanIsInTheSetWithItsTimeout(t *testing.T) {
	requireNft(t)
	fw, ns := kernelFirewall(t)
	setup(t, fw, Jail{Name: "sshd", Ports: []PortRange{{22, 22}}, Protocol: "tcp"}, Jail{Name: "p2p", Protocol: "all"})
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
		{"p2p_v6", "2001:db8::1/128", 90},
		{"p2p_v6", "2001:db8:1:2::/64", 120},
		{"p2p_v4", "192.0.2.0/24", 180},
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
	if els := nftSet(t, ns, "sshd_v6"); len(els) != 0 {
		t.Errorf("sshd_v6 = %v, want empty", els)
	}
}

func TestKernelSetupKeepsBansAndRemovesOldJails(t *testing.T) {
	requireNft(t)
	fw, ns := kernelFirewall(t)
	setup(t, fw, Jail{Name: "a", Ports: []PortRange{{4001, 4001}}, Protocol: "tcp"}, Jail{Name: "b"})
	apply(t, fw, ban("a", "10.0.0.1/32", time.Hour), ban("a", "2001:db8::/64", time.Hour), ban("b", "10.0.0.2/32", time.Hour))
	// A reload: jail a changes its ports, jail b goes, jail c comes.
	setup(t, fw, Jail{Name: "a", Ports: []PortRange{{4001, 4002}}, Protocol: "udp"}, Jail{Name: "c"})
	got := listed(t, fw)
	if len(got) != 2 || !within(got["a 10.0.0.1/32"], time.Hour) || !within(got["a 2001:db8::/64"], time.Hour) {
		t.Errorf("after re-Setup List = %v, want jail a's two bans kept", got)
	}
	sets := ns.MustExec(t, "nft", "list", "table", "inet", Table)
	for _, gone := range []string{"b_v4", "b_v6"} {
		if strings.Contains(sets, "set "+gone+" ") {
			t.Errorf("set %s still there after its jail went:\n%s", gone, sets)
		}
	}
	for _, kept := range []string{"a_v4", "a_v6", "c_v4", "c_v6"} {
		if !strings.Contains(sets, "set "+kept+" ") {
			t.Errorf("set %s missing:\n%s", kept, sets)
		}
	}
	chain := ns.MustExec(t, "nft", "list", "chain", "inet", Table, Chain)
	for _, want := range []string{"udp dport 4001-4002 ip saddr @a_v4 counter", "udp dport 4001-4002 ip6 saddr @a_v6 counter", "\t\tip6 saddr @c_v6 counter"} {
		if !strings.Contains(chain, want) {
			t.Errorf("chain lacks %q:\n%s", want, chain)
		}
	}
	if strings.Contains(chain, "tcp") {
		t.Errorf("chain still has jail a's old tcp rule:\n%s", chain)
	}
	// Setup twice with the same jails changes nothing.
	before := ns.MustExec(t, "nft", "list", "table", "inet", Table)
	setup(t, fw, Jail{Name: "a", Ports: []PortRange{{4001, 4002}}, Protocol: "udp"}, Jail{Name: "c"})
	if after := ns.MustExec(t, "nft", "list", "table", "inet", Table); stripExpires(after) != stripExpires(before) {
		t.Errorf("second Setup changed the table:\n%s\nwant\n%s", after, before)
	}
}

func TestKernelApplySemantics(t *testing.T) {
	fw, _ := kernelFirewall(t)
	setup(t, fw, Jail{Name: "j"})
	steps := []struct {
		name    string
		changes []Change
		want    map[string]time.Duration
	}{
		{"adjacent addresses", []Change{ban("j", "10.9.0.1/32", time.Minute), ban("j", "10.9.0.2/32", time.Minute), ban("j", "10.9.0.0/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Minute, "j 10.9.0.2/32": time.Minute}},
		{"re-adding replaces the timeout", []Change{ban("j", "10.9.0.1/32", time.Hour)},
			map[string]time.Duration{"j 10.9.0.0/32": time.Minute, "j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"removing a missing element is no error", []Change{unban("j", "10.9.0.0/32"), unban("j", "10.9.9.9/32"), unban("j", "2001:db8::/64")},
			map[string]time.Duration{"j 10.9.0.1/32": time.Hour, "j 10.9.0.2/32": time.Minute}},
		{"a covering prefix replaces the addresses inside", []Change{ban("j", "10.9.0.0/30", 2*time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute}},
		{"an address inside a ban is skipped", []Change{ban("j", "10.9.0.3/32", time.Hour), unban("j", "10.9.0.2/32")},
			map[string]time.Duration{"j 10.9.0.0/30": 2 * time.Minute}},
		{"remove and re-add in one call", []Change{unban("j", "10.9.0.0/30"), ban("j", "10.9.0.0/30", 3*time.Minute), ban("j", "10.9.0.4/32", time.Minute)},
			map[string]time.Duration{"j 10.9.0.0/30": 3 * time.Minute, "j 10.9.0.4/32": time.Minute}},
		{"the highest addresses", []Change{unban("j", "10.9.0.0/30"), unban("j", "10.9.0.4/32"), ban("j", "255.255.255.255/32", time.Minute), ban("j", "ffff:ffff:ffff:ffff::/64", time.Minute)},
			map[string]time.Duration{"j 255.255.255.255/32": time.Minute, "j ffff:ffff:ffff:ffff::/64": time.Minute}},
		{"removing the highest addresses", []Change{unban("j", "255.255.255.255/32"), unban("j", "ffff:ffff:ffff:ffff::/64"), ban("j", "::ffff:10.1.1.1/128", time.Minute)},
			map[string]time.Duration{"j 10.1.1.1/32": time.Minute}},
	}
	for _, s := range steps {
		apply(t, fw, s.changes...)
		got := listed(t, fw)
		if len(got) != len(s.want) {
			t.Fatalf("%s: List = %s, want %d elements", s.name, keys(got), len(s.want))
		}
		for k, d := range s.want {
			if !within(got[k], d) {
				t.Fatalf("%s: %s remaining %s, want about %s (List = %v)", s.name, k, got[k], d, got)
			}
		}
	}
}

func TestKernelApplyIsAllOrNothing(t *testing.T) {
	fw, _ := kernelFirewall(t)
	setup(t, fw, Jail{Name: "j"})
	err := fw.Apply(ctx, []Change{ban("j", "10.0.0.1/32", time.Minute), ban("nojail", "10.0.0.2/32", time.Minute)})
	if !errors.Is(err, ErrUnknownJail) {
		t.Fatalf("Apply to a jail not set up: err = %v, want ErrUnknownJail", err)
	}
	if got := listed(t, fw); len(got) != 0 {
		t.Errorf("failed Apply left %v", got)
	}
	if err := fw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fw.Apply(ctx, []Change{ban("j", "10.0.0.1/32", time.Minute)}); !errors.Is(err, ErrUnknownJail) {
		t.Errorf("Apply after Flush: err = %v, want ErrUnknownJail", err)
	}
}

func TestKernelSetupReplacesASetOfAnotherType(t *testing.T) {
	requireNft(t)
	fw, ns := kernelFirewall(t)
	nftFile(t, ns, "table inet peerjail { set x_v4 { type ipv4_addr; elements = { 10.0.0.1 }; }; }")
	setup(t, fw, Jail{Name: "x"})
	apply(t, fw, ban("x", "10.0.0.0/24", time.Minute))
	if got := listed(t, fw); len(got) != 1 || !within(got["x 10.0.0.0/24"], time.Minute) {
		t.Errorf("List = %v, want the /24 ban only", got)
	}
}

func TestKernelLeavesOtherTablesAlone(t *testing.T) {
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
	setup(t, fw, Jail{Name: "j"})
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
	fw, _ := kernelFirewall(t)
	setup(t, fw, Jail{Name: "j"})
	var changes []Change
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
