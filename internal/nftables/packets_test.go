//go:build linux

package nftables

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/netnstest"
)

// testbed is two namespaces on a veth pair: node runs the firewall and TCP
// listeners on ports 4001 and 4002, attacker connects to them.
type testbed struct {
	node, attacker *netnstest.NS
	fw             firewall.Firewall
	node4, node6   string // node's addresses
	att4, att6     string // attacker's addresses
	v6net          string // the /64 both share
}

func newTestbed(t *testing.T, opts ...Option) *testbed {
	t.Helper()
	fw, node := kernelFirewall(t, opts...)
	attacker := netnstest.New(t)
	ifNode, ifAtt := netnstest.Veth(t, node, attacker)
	x := rand.IntN(254) + 1
	b := &testbed{
		node: node, attacker: attacker, fw: fw,
		node4: fmt.Sprintf("10.200.%d.1", x), att4: fmt.Sprintf("10.200.%d.2", x),
		node6: fmt.Sprintf("fd00:%x::1", x), att6: fmt.Sprintf("fd00:%x::2", x),
		v6net: fmt.Sprintf("fd00:%x::/64", x),
	}
	node.AddAddr(t, ifNode, b.node4+"/24")
	node.AddAddr(t, ifNode, b.node6+"/64")
	attacker.AddAddr(t, ifAtt, b.att4+"/24")
	attacker.AddAddr(t, ifAtt, b.att6+"/64")
	for _, port := range []string{"4001", "4002"} {
		b.listen(t, port)
	}
	return b
}

// listen accepts and closes connections on a port of node, v4 and v6.
func (b *testbed) listen(t *testing.T, port string) {
	t.Helper()
	var l net.Listener
	if err := b.node.Run(func() (err error) {
		l, err = net.Listen("tcp", ":"+port)
		return err
	}); err != nil {
		t.Fatalf("listen in node: %v", err)
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
}

// connect dials node from attacker; a ban shows as a timeout, since the
// firewall drops the SYN.
func (b *testbed) connect(host, port string) error {
	return b.attacker.Run(func() error {
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		c, err := d.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func (b *testbed) wantOpen(t *testing.T, what, host, port string) {
	t.Helper()
	if err := b.connect(host, port); err != nil {
		t.Errorf("%s: connect to %s port %s: %v, want success", what, host, port, err)
	}
}

func (b *testbed) wantBlocked(t *testing.T, what, host, port string) {
	t.Helper()
	err := b.connect(host, port)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%s: connect to %s port %s: %v, want a timeout (dropped)", what, host, port, err)
	}
}

func TestPacketsNarrowedAndNetworkBans(t *testing.T) {
	t.Parallel()
	b := newTestbed(t)
	// The attacker shares its /64 with the node, so the jail narrows it
	// to /128: the masked host set cannot hold it, the interval set does.
	setup(t, b.fw, firewall.Jail{Name: "all"}, firewall.Jail{Name: "p2p", Ports: []firewall.PortRange{{From: 4001, To: 4001}}, Protocol: "tcp"})
	apply(t, b.fw, ban("all", b.att6+"/128", time.Hour))
	b.wantBlocked(t, "IPv6 /128 ban in a /64 jail", b.node6, "4001")
	b.wantOpen(t, "IPv6 /128 ban in a /64 jail, IPv4 traffic", b.node4, "4001")
	if got := keys(listed(t, b.fw)); got != "all "+b.att6+"/128" {
		t.Errorf("List = %s, want the /128", got)
	}
	apply(t, b.fw, unban("all", b.att6+"/128"))
	// The ban dropped the attacker's neighbour advertisements too: the
	// node may need a few tries to reach it again.
	for try := 0; b.connect(b.node6, "4001") != nil; try++ {
		if try == 10 {
			t.Fatal("after the /128 unban the attacker still cannot connect")
		}
	}
	// A manual IPv4 network sits beside a host key inside it.
	apply(t, b.fw, ban("all", b.att4+"/32", time.Hour), ban("all", netip.PrefixFrom(netip.MustParseAddr(b.att4), 24).Masked().String(), time.Minute))
	b.wantBlocked(t, "IPv4 host and network", b.node4, "4001")
	apply(t, b.fw, unban("all", netip.PrefixFrom(netip.MustParseAddr(b.att4), 24).Masked().String()))
	b.wantBlocked(t, "IPv4 host once its network is lifted", b.node4, "4001")
}

func TestPacketsBanUnbanAndExpiry(t *testing.T) {
	t.Parallel()
	b := newTestbed(t)
	b.wantOpen(t, "before any ban", b.node4, "4001")
	b.wantOpen(t, "before any ban", b.node6, "4001")
	setup(t, b.fw, firewall.Jail{Name: "all"}, firewall.Jail{Name: "p2p", Ports: []firewall.PortRange{{From: 4001, To: 4001}}, Protocol: "tcp"})
	b.wantOpen(t, "after Setup", b.node4, "4001")

	apply(t, b.fw, ban("all", b.att4+"/32", time.Hour))
	b.wantBlocked(t, "banned in a jail for all ports", b.node4, "4001")
	b.wantBlocked(t, "banned in a jail for all ports", b.node4, "4002")
	b.wantOpen(t, "IPv4 ban, IPv6 traffic", b.node6, "4002")

	apply(t, b.fw, unban("all", b.att4+"/32"))
	b.wantOpen(t, "after unban", b.node4, "4001")

	apply(t, b.fw, ban("p2p", b.att4+"/32", time.Hour))
	b.wantBlocked(t, "banned in a jail for tcp 4001", b.node4, "4001")
	b.wantOpen(t, "banned in a jail for tcp 4001, other port", b.node4, "4002")
	apply(t, b.fw, unban("p2p", b.att4+"/32"))

	apply(t, b.fw, ban("all", b.v6net, time.Hour))
	b.wantBlocked(t, "IPv6 /64 ban", b.node6, "4001")
	b.wantOpen(t, "IPv6 /64 ban, IPv4 traffic", b.node4, "4001")
	apply(t, b.fw, unban("all", b.v6net))
	b.wantOpen(t, "after IPv6 unban", b.node6, "4001")

	apply(t, b.fw, ban("all", b.att4+"/32", 2*time.Second))
	b.wantBlocked(t, "2s ban", b.node4, "4001")
	deadline := time.Now().Add(6 * time.Second)
	for b.connect(b.node4, "4001") != nil {
		if time.Now().After(deadline) {
			t.Fatal("2s ban still blocks after 6s: the kernel did not expire it")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := listed(t, b.fw); len(got) != 0 {
		t.Errorf("after expiry List = %v, want empty", got)
	}
}
