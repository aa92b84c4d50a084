//go:build linux

package nftables

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// verifyJails and verifyBans0 are what the Verify tests set up and ban.
var verifyJails = []firewall.Jail{{Name: "ssh", Ports: []firewall.PortRange{{From: 22, To: 22}}, Protocol: "tcp"}, {Name: "p2p", Ports: []firewall.PortRange{{From: 4001, To: 4002}}}}

func verifyBanSet() []firewall.Change {
	return []firewall.Change{
		ban("ssh", "198.51.100.7/32", time.Hour),
		ban("ssh", "198.51.100.8/32", time.Hour),
		ban("ssh", "2001:db8:1:2::/64", time.Hour),
		ban("p2p", "192.0.2.0/24", time.Hour),
		ban("p2p", "192.0.2.9/32", time.Hour), // inside the /24: a host key of its own
	}
}

func verify(t *testing.T, fw firewall.Firewall) firewall.Drift {
	t.Helper()
	d, err := fw.Verify(context.Background(), verifyJails, verifyBanSet())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func missingPrefixes(d firewall.Drift) []string {
	var out []string
	for _, c := range d.Missing {
		out = append(out, c.Jail+" "+c.Prefix.String())
	}
	slices.Sort(out)
	return out
}

// Verify tells what someone else removed, in the words of the log.
func TestKernelVerifyReportsDrift(t *testing.T) {
	t.Parallel()
	requireNft(t)
	cases := []struct {
		name    string
		tamper  []string // nft arguments, run in the namespace
		what    []string
		missing []string
		text    string
	}{
		{name: "nothing changed"},
		{name: "flush ruleset", tamper: []string{"flush ruleset"}, what: []string{"table"},
			missing: []string{"p2p 192.0.2.0/24", "p2p 192.0.2.9/32", "ssh 198.51.100.7/32", "ssh 198.51.100.8/32", "ssh 2001:db8:1:2::/64"},
			text:    "table inet peerjail missing (5 bans)"},
		{name: "delete table", tamper: []string{"delete table inet peerjail"}, what: []string{"table"},
			missing: []string{"p2p 192.0.2.0/24", "p2p 192.0.2.9/32", "ssh 198.51.100.7/32", "ssh 198.51.100.8/32", "ssh 2001:db8:1:2::/64"},
			text:    "table inet peerjail missing (5 bans)"},
		{name: "delete element", tamper: []string{"delete element inet peerjail ssh_v4 { 198.51.100.8 }"}, what: []string{"element"},
			missing: []string{"ssh 198.51.100.8/32"}, text: "set ssh_v4 missing 1 element"},
		{name: "delete the network", tamper: []string{"delete element inet peerjail p2p_n4 { 192.0.2.0/24 }"}, what: []string{"element"},
			missing: []string{"p2p 192.0.2.0/24"}, text: "set p2p_n4 missing 1 element"},
		{name: "delete the host key inside the network", tamper: []string{"delete element inet peerjail p2p_v4 { 192.0.2.9 }"}, what: []string{"element"},
			missing: []string{"p2p 192.0.2.9/32"}, text: "set p2p_v4 missing 1 element"},
		{name: "flush set", tamper: []string{"flush set inet peerjail ssh_v4"}, what: []string{"element"},
			missing: []string{"ssh 198.51.100.7/32", "ssh 198.51.100.8/32"}, text: "set ssh_v4 missing 2 elements"},
		{name: "flush chain", tamper: []string{"flush chain inet peerjail input"}, what: []string{"chain"},
			text: "chain input missing or its rules changed"},
		{name: "accept rule added", tamper: []string{"insert rule inet peerjail input accept"}, what: []string{"chain"},
			text: "chain input missing or its rules changed"},
		{name: "delete chain and set", tamper: []string{"delete chain inet peerjail input", "delete set inet peerjail ssh_v6"},
			what: []string{"chain", "set", "element"}, missing: []string{"ssh 2001:db8:1:2::/64"},
			text: "chain input missing or its rules changed, set ssh_v6 missing, set ssh_v6 lost 1 element"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fw, ns := kernelFirewall(t)
			setup(t, fw, verifyJails...)
			if err := fw.Restore(context.Background(), verifyBanSet()); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range c.tamper {
				ns.MustExec(t, "sh", "-c", "nft '"+cmd+"'")
			}
			d := verify(t, fw)
			if got := d.What(); !slices.Equal(got, c.what) {
				t.Errorf("What() = %v, want %v (drift %+v)", got, c.what, d)
			}
			if got := missingPrefixes(d); !slices.Equal(got, c.missing) {
				t.Errorf("Missing = %v, want %v", got, c.missing)
			}
			if c.text != "" && d.String() != c.text {
				t.Errorf("String() = %q, want %q", d.String(), c.text)
			}
			if d.None() {
				return
			}
			// Setting up again and restoring what was missing repairs it.
			setup(t, fw, verifyJails...)
			if err := fw.Restore(context.Background(), d.Missing); err != nil {
				t.Fatal(err)
			}
			if d := verify(t, fw); !d.None() {
				t.Errorf("after repair: %s", d)
			}
			// And the backend plans on the kernel again, not on what it
			// believed: an unban of a restored ban works.
			apply(t, fw, unban("ssh", "198.51.100.8/32"))
			if _, ok := listed(t, fw)["ssh 198.51.100.8/32"]; ok {
				t.Error("unban after repair left the element")
			}
		})
	}
}

// A ban whose element expired, or that the backend never added, is missing.
func TestKernelVerifyExpiredAndUnknown(t *testing.T) {
	t.Parallel()
	fw, _ := kernelFirewall(t)
	setup(t, fw, verifyJails...)
	apply(t, fw, ban("ssh", "198.51.100.7/32", time.Second))
	time.Sleep(1500 * time.Millisecond)
	d, err := fw.Verify(context.Background(), verifyJails, []firewall.Change{ban("ssh", "198.51.100.7/32", time.Hour), ban("ssh", "203.0.113.1/32", time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := missingPrefixes(d); !slices.Equal(got, []string{"ssh 198.51.100.7/32", "ssh 203.0.113.1/32"}) {
		t.Errorf("Missing = %v, want both", got)
	}
}

// Watch hears another process change the table, and not this one's own
// transactions.
func TestKernelWatch(t *testing.T) {
	t.Parallel()
	requireNft(t)
	fw, ns := kernelFirewall(t)
	setup(t, fw, verifyJails...)
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	heard := make(chan struct{}, 16)
	go func() {
		done <- fw.(firewall.Watcher).Watch(ctx, func() {
			calls.Add(1)
			heard <- struct{}{}
		})
	}()
	// The subscription races the first change: repeat own changes until a
	// foreign one is heard, then check that the own ones were not.
	time.Sleep(200 * time.Millisecond)
	apply(t, fw, ban("ssh", "198.51.100.7/32", time.Hour))
	apply(t, fw, unban("ssh", "198.51.100.7/32"))
	setup(t, fw, verifyJails...)
	ns.MustExec(t, "nft", "add", "table", "inet", "unrelated")
	ns.MustExec(t, "nft", "add", "chain", "inet", "unrelated", "c")
	ns.MustExec(t, "nft", "delete", "table", "inet", "peerjail")
	select {
	case <-heard:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not report the table's deletion within 5 s")
	}
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("changed called %d times, want once (own transactions and other tables are not reported)", n)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v, want context.Canceled", err)
	}
}
