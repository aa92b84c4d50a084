//go:build linux

package netnstest

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

func TestNamespaceIsFreshAndGoesAway(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		ns := New(t)
		name = ns.Name
		var ifaces []net.Interface
		if err := ns.Run(func() (err error) {
			ifaces, err = net.Interfaces()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(ifaces) != 1 || ifaces[0].Name != "lo" || ifaces[0].Flags&net.FlagUp == 0 {
			t.Errorf("interfaces inside = %v, want only lo, up", ifaces)
		}
	})
	if name == "" {
		t.Skip("no namespace was made")
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), name) {
		t.Errorf("namespace %s still exists after its test", name)
	}
}

func TestVethConnectsTwoNamespaces(t *testing.T) {
	a, b := New(t), New(t)
	ifA, ifB := Veth(t, a, b)
	a.AddAddr(t, ifA, "10.201.0.1/24")
	b.AddAddr(t, ifB, "10.201.0.2/24")
	var l net.Listener
	if err := a.Run(func() (err error) {
		l, err = net.Listen("tcp", "10.201.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	if err := b.Run(func() error {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		t.Errorf("dial across the veth pair: %v", err)
	}
}
