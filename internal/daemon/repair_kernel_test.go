//go:build linux

package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/netnstest"
)

// attackers is a second namespace on a veth pair with env's: node listens
// on port 4001 at nodeAddr, and the attacker has three addresses to come
// from.
type attackers struct {
	ns       *netnstest.NS
	nodeAddr string
	addrs    []string
}

func (env *kernelEnv) attackers(t *testing.T) *attackers {
	t.Helper()
	att := netnstest.New(t)
	ifNode, ifAtt := netnstest.Veth(t, env.ns, att)
	x := rand.IntN(250) + 1
	a := &attackers{ns: att, nodeAddr: fmt.Sprintf("10.202.%d.1", x)}
	env.ns.AddAddr(t, ifNode, a.nodeAddr+"/24")
	for i := 2; i <= 4; i++ {
		addr := fmt.Sprintf("10.202.%d.%d", x, i)
		att.AddAddr(t, ifAtt, addr+"/24")
		a.addrs = append(a.addrs, addr)
	}
	var l net.Listener
	if err := env.ns.Run(func() (err error) {
		l, err = net.Listen("tcp", a.nodeAddr+":4001")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return a
}

// connect dials node from one of the attacker's addresses; a ban shows as a
// timeout, since the kernel drops the SYN.
func (a *attackers) connect(from string) error {
	return a.ns.Run(func() error {
		d := net.Dialer{Timeout: 300 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", net.JoinHostPort(a.nodeAddr, "4001"))
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func (a *attackers) wantDropped(t *testing.T, what string) {
	t.Helper()
	for _, from := range a.addrs {
		err := a.connect(from)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: connect from %s: %v, want a timeout (dropped)", what, from, err)
		}
	}
}

// After someone else removes peerjail's table, or an element of it, the
// daemon puts back every ban with the time it has left within 5 s, and
// packets from the banned hosts are dropped again.
func TestKernelRepairsLostBans(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(env *kernelEnv, a *attackers) []string // nft arguments
		other  bool                                        // table inet other survives
	}{
		{"flush ruleset", func(*kernelEnv, *attackers) []string { return []string{"flush", "ruleset"} }, false},
		{"delete table", func(*kernelEnv, *attackers) []string {
			return []string{"delete", "table", "inet", firewall.Table}
		}, true},
		{"delete element", func(_ *kernelEnv, a *attackers) []string {
			return []string{"delete", "element", "inet", firewall.Table, "ssh_v4", "{ " + a.addrs[1] + " }"}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := newKernelEnv(t)
			a := env.attackers(t)
			kd := env.start(t)
			cl, ctx := env.client(), context.Background()
			for _, addr := range a.addrs {
				if _, err := cl.Ban(ctx, "ssh", addr, time.Hour, false); err != nil {
					t.Fatal(err)
				}
			}
			before := bannedIn(t, cl, "ssh")
			a.wantDropped(t, "banned")

			env.ns.MustExec(t, append([]string{"nft"}, c.tamper(env, a)...)...)
			tampered := time.Now()
			var got map[string]time.Duration
			for {
				got = env.elements(t)
				if len(got) == 3 {
					break
				}
				if time.Since(tampered) > 5*time.Second {
					t.Fatalf("5 s after nft %v the kernel holds %v, want the 3 bans back", c.tamper(env, a), got)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("all bans back %v after the change", time.Since(tampered).Round(time.Millisecond))
			for _, addr := range a.addrs {
				rem, ok := got["ssh "+addr+"/32"]
				if want := time.Until(before[addr].Until); !ok || !near(rem, want, 2*time.Second) {
					t.Errorf("%s back in the kernel %v with %v left, want %v", addr, ok, rem, want)
				}
			}
			a.wantDropped(t, "after the repair")
			after := bannedIn(t, cl, "ssh")
			for _, addr := range a.addrs {
				if b := after[addr]; b.Enforcement != control.Enforced || !b.Until.Equal(before[addr].Until) {
					t.Errorf("status of %s after the repair: %+v, want enforced until %v", addr, b, before[addr].Until)
				}
			}
			kd.stop(t)
			if c.other {
				env.checkOther(t)
			}
		})
	}
}

// What status says enforced, the kernel held at the last verification:
// with the loop stopped, a ban removed by hand shows as pending after one
// verification, and as enforced again once it is repaired.
func TestKernelStatusFollowsVerification(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	kd := env.start(t)
	_ = kd.d.enf.stopVerifying()
	cl, ctx := env.client(), context.Background()
	if _, err := cl.Ban(ctx, "ssh", "198.51.100.7", time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if b := bannedIn(t, cl, "ssh")["198.51.100.7"]; b.Enforcement != control.Enforced {
		t.Fatalf("after the ban: %+v, want enforced", b)
	}
	env.ns.MustExec(t, "nft", "delete", "element", "inet", firewall.Table, "ssh_v4", "{ 198.51.100.7 }")
	if _, ok := kd.d.enf.check(ctx); !ok { // verify without repairing
		t.Fatal("check failed")
	}
	if b := bannedIn(t, cl, "ssh")["198.51.100.7"]; b.Enforcement != control.Pending || b.Error == "" {
		t.Errorf("after the element was deleted and verified: %+v, want pending with why", b)
	}
	kd.d.enf.verify(ctx)
	if b := bannedIn(t, cl, "ssh")["198.51.100.7"]; b.Enforcement != control.Enforced {
		t.Errorf("after the repair: %+v, want enforced", b)
	}
	if _, ok := env.elements(t)["ssh 198.51.100.7/32"]; !ok {
		t.Error("not back in the kernel after the repair")
	}
}
