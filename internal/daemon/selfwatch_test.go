package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// fakeSelf stands in for the netlink watch: the test hands it address sets
// and learns when the daemon has taken each.
type fakeSelf struct {
	sets    chan []netip.Prefix
	applied chan struct{}
}

func newFakeSelf(initial ...string) *fakeSelf {
	f := &fakeSelf{sets: make(chan []netip.Prefix, 1), applied: make(chan struct{}, 1)}
	f.sets <- prefixes(initial...)
	return f
}

func prefixes(addrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out
}

func (f *fakeSelf) watch(ctx context.Context, update func([]netip.Prefix)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-f.sets:
			update(s)
			select {
			case f.applied <- struct{}{}:
			default:
			}
		}
	}
}

// change hands the daemon a new set and waits until its jails have it.
func (f *fakeSelf) change(t *testing.T, addrs ...string) {
	t.Helper()
	<-f.applied // the previous set, at least, is in
	f.sets <- prefixes(addrs...)
	select {
	case <-f.applied:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not take the new addresses")
	}
	f.applied <- struct{}{}
}

const selfConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: true
`

func newSelfDaemon(t *testing.T, fs *fakeSelf) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(selfConfig, log)), 0o600)
	return newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) { o.watchSelf = fs.watch })
}

// An address the host gains after start is never banned, from the logs or
// by hand without --force; one it lost is bannable again.
func TestOwnAddressesFollowedAtRunTime(t *testing.T) {
	fs := newFakeSelf("192.0.2.50")
	td := newSelfDaemon(t, fs)
	c, ctx := td.client(), context.Background()
	fs.change(t, "192.0.2.60", "2001:db8:5::1")
	td.appendLines(t, failed("192.0.2.60", 3)...)
	td.appendLines(t, failed("198.51.100.3", 3)...)
	waitFor(t, "the other host's ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.3/32") })
	if inFirewall(td.fw, "ssh", "192.0.2.60/32") {
		t.Fatal("an address added after start was banned from the log")
	}
	_, err := c.Ban(ctx, "ssh", "192.0.2.60", time.Hour, false)
	if err == nil || !strings.Contains(err.Error(), "own address") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("manual ban of an own address: %v", err)
	}
	// A ban of the own address's /64 would cut it off: refused too.
	if _, err := c.Ban(ctx, "ssh", "2001:db8:5::/64", time.Hour, false); err == nil {
		t.Fatal("a ban of the prefix holding an own address was taken")
	}
	if _, err := c.Ban(ctx, "ssh", "192.0.2.60", time.Hour, true); err != nil || !inFirewall(td.fw, "ssh", "192.0.2.60/32") {
		t.Fatalf("forced ban of an own address: %v", err)
	}
	// 192.0.2.50 is no longer the host's: it is banned like anyone.
	td.appendLines(t, failed("192.0.2.50", 3)...)
	waitFor(t, "the ban of a former own address", func() bool { return inFirewall(td.fw, "ssh", "192.0.2.50/32") })
}

// A reload whose configuration did not change keeps the jail's windows,
// even when this host's addresses changed since the jail was built.
func TestReloadKeepsWindowsWhenOwnAddressesChange(t *testing.T) {
	fs := newFakeSelf("192.0.2.50")
	td := newSelfDaemon(t, fs)
	td.appendLines(t, failed("198.51.100.4", 2)...)
	waitFor(t, "two hits", func() bool { return totalHits(t, td) == 2 })
	fs.change(t, "192.0.2.51")
	before := td.d.current()
	if err := td.client().Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := td.d.current()
	if after == before || after.jails[0].lane.Counter != before.jails[0].lane.Counter {
		t.Fatal("the unchanged jail was rebuilt by the reload: its windows are gone")
	}
	td.appendLines(t, failed("198.51.100.4", 1)...)
	waitFor(t, "the ban from the window kept", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.4/32") })
	st, _ := td.client().Status(context.Background(), "ssh")
	if st[0].TotalHits != 3 {
		t.Errorf("total hits %d after the reload, want 3", st[0].TotalHits)
	}
}

// The netlink listing sees what the standard library sees (read only: the
// test's own namespace's addresses are listed, never changed).
func TestListAddrsMatchesInterfaces(t *testing.T) {
	var got []netip.Prefix
	ctx, cancel := context.WithCancel(context.Background())
	err := watchAddrs(ctx, 0, func(a []netip.Prefix) { got = a; cancel() }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Skipf("netlink not usable here: %v", err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var want []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ip = ip.Unmap()
				want = append(want, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	slices.SortFunc(want, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Errorf("netlink addresses %v, net.InterfaceAddrs %v", got, want)
	}
}
