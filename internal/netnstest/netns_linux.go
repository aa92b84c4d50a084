//go:build linux

package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a network namespace that lives until the end of the test that made it.
type NS struct {
	// Name is the namespace's name for `ip netns exec`.
	Name string
}

// New creates a fresh network namespace with its loopback up, or skips the
// test with the reason when that is impossible here.
func New(t testing.TB) *NS {
	t.Helper()
	requireRoot(t)
	ns := &NS{Name: "peerjail-test-" + randomHex(4)}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Skipf("needs root and network namespaces: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.MustExec(t, "ip", "link", "set", "lo", "up")
	return ns
}

// requireRoot skips the test unless it can create namespaces.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root and nftables: not running as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs root and nftables: ip (iproute2) not installed")
	}
}

// Path is the namespace's bind mount, which can be opened as a netns fd.
func (ns *NS) Path() string { return filepath.Join("/var/run/netns", ns.Name) }

// Open returns an fd referring to the namespace, closed at the end of the test.
func (ns *NS) Open(t testing.TB) int {
	t.Helper()
	fd, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", ns.Path(), err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// Exec runs a command inside the namespace and returns its combined output.
func (ns *NS) Exec(args ...string) (string, error) {
	full := append([]string{"netns", "exec", ns.Name}, args...)
	out, err := exec.Command("ip", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip netns exec %s %s: %w: %s", ns.Name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// MustExec is Exec that fails the test on error.
func (ns *NS) MustExec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := ns.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Run calls fn on an OS thread that has entered the namespace. Sockets that
// fn creates stay in the namespace after Run returns, so a listener can be
// opened here and served from any goroutine.
func (ns *NS) Run(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked if it could not return to its own
		// namespace: the runtime then ends it with this goroutine.
		runtime.LockOSThread()
		errc <- ns.runLocked(fn)
	}()
	return <-errc
}

func (ns *NS) runLocked(fn func() error) error {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open own netns: %w", err)
	}
	defer unix.Close(self)
	target, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", ns.Path(), err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter %s: %w", ns.Name, err)
	}
	fnErr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("leave %s: %w", ns.Name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Veth links two namespaces with a veth pair, both ends up, and returns the
// interface names in a and in b. The pair is created inside a, so nothing is
// ever added to the host's namespace; it goes away with the namespaces.
func Veth(t testing.TB, a, b *NS) (ifA, ifB string) {
	t.Helper()
	id := randomHex(3)
	ifA, ifB = "pj"+id+"a", "pj"+id+"b"
	a.MustExec(t, "ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	a.MustExec(t, "ip", "link", "set", ifA, "up")
	b.MustExec(t, "ip", "link", "set", ifB, "up")
	return ifA, ifB
}

// AddAddr assigns a CIDR address (e.g. 10.200.7.1/24, fd00:7::1/64) to an
// interface; IPv6 addresses skip duplicate address detection so they work at once.
func (ns *NS) AddAddr(t testing.TB, dev, cidr string) {
	t.Helper()
	args := []string{"ip", "addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = append(args, "nodad")
	}
	ns.MustExec(t, args...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux.
	return hex.EncodeToString(b)
}
