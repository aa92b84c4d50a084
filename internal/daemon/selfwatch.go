package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// selfWatch keeps this host's own addresses (ignoreself) current: it
// follows the kernel's address notifications (RTM_NEWADDR, RTM_DELADDR) and
// hands every change to the running jails, so an address added after start
// is protected at once and no reload is needed.
type selfWatch struct {
	mu    sync.Mutex
	addrs []netip.Prefix
}

// current returns the addresses last seen.
func (s *selfWatch) current() []netip.Prefix {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs
}

// set records addrs and reports whether they differ from the last set.
func (s *selfWatch) set(addrs []netip.Prefix) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Equal(s.addrs, addrs) {
		return false
	}
	s.addrs = addrs
	return true
}

// hand gives a new jail the current addresses if its policy ignores them.
func (s *selfWatch) hand(jc config.Jail, j *jail.Counter) {
	if jc.IgnoreSelf {
		j.SetSelf(s.current())
	}
}

// watchSelf learns the addresses before the first generation is built and
// follows them until Stop, in a goroutine that Stop waits for.
func (d *Daemon) watchSelf(ctx context.Context) error {
	d.self = &selfWatch{}
	watch := d.o.watchSelf
	if watch == nil {
		watch = func(ctx context.Context, update func([]netip.Prefix)) error {
			return watchAddrs(ctx, d.o.NetNS, update, d.log)
		}
	}
	first := make(chan struct{})
	var once sync.Once
	update := func(addrs []netip.Prefix) {
		if d.self.set(addrs) {
			d.log.Debug("own addresses", "addrs", addrs)
			d.handSelf()
		}
		once.Do(func() { close(first) })
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- watch(wctx, update) }()
	stop := func() error {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("watch own addresses: %w", err)
		}
		return nil
	}
	select {
	case <-first:
		d.teardown = append(d.teardown, stop)
		return nil
	case err := <-done:
		cancel()
		return fmt.Errorf("watch own addresses (ignoreself): %w", err)
	}
}

// handSelf gives the running generation's jails the current addresses.
func (d *Daemon) handSelf() {
	g, release := d.acquire()
	defer release()
	if g == nil {
		return
	}
	addrs := d.self.current()
	g.eng.Do(func() {
		for _, lj := range g.jails {
			if lj.cfg.IgnoreSelf {
				lj.lane.Counter.SetSelf(addrs)
			}
		}
	})
}

// watchAddrs calls update with the addresses of network namespace netns (0:
// the caller's) at once and after every change, until ctx is done.
func watchAddrs(ctx context.Context, netns int, update func([]netip.Prefix), log *slog.Logger) error {
	// Subscribed before the first listing, so that no change falls between.
	events, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{
		NetNS: netns, Groups: unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR})
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer events.Close()
	dumps, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: netns})
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer dumps.Close()
	stop := afterFunc(ctx, func() { _ = events.Close() })
	defer stop()
	for {
		addrs, err := listAddrs(dumps)
		if err != nil {
			return err
		}
		update(addrs)
		// Any notification, even one lost to a full buffer (ENOBUFS),
		// means: list again. Listing is cheap and cannot miss a change.
		if _, err := events.Receive(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var oe *netlink.OpError
			if errors.As(err, &oe) && errors.Is(oe.Err, unix.ENOBUFS) {
				log.Debug("address notifications overflowed; listing again")
				continue
			}
			return fmt.Errorf("netlink: address notifications: %w", err)
		}
	}
}

// listAddrs dumps every interface address (RTM_GETADDR).
func listAddrs(c *netlink.Conn) ([]netip.Prefix, error) {
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETADDR, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, unix.SizeofIfAddrmsg), // AF_UNSPEC: both families
	})
	if err != nil {
		return nil, fmt.Errorf("netlink: list addresses: %w", err)
	}
	var out []netip.Prefix
	for _, m := range msgs {
		if a, ok := ifaddr(m.Data); ok {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return slices.Compact(out), nil
}

// ifaddr reads an address message's own address: IFA_LOCAL where the kernel
// gives one (on a point-to-point link IFA_ADDRESS is the peer's), else
// IFA_ADDRESS.
func ifaddr(b []byte) (netip.Addr, bool) {
	if len(b) < unix.SizeofIfAddrmsg {
		return netip.Addr{}, false
	}
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfAddrmsg:])
	if err != nil {
		return netip.Addr{}, false
	}
	ad.ByteOrder = binary.NativeEndian
	var local, address netip.Addr
	for ad.Next() {
		a, ok := netip.AddrFromSlice(ad.Bytes())
		if !ok {
			continue
		}
		switch ad.Type() {
		case unix.IFA_LOCAL:
			local = a.Unmap()
		case unix.IFA_ADDRESS:
			address = a.Unmap()
		}
	}
	if local.IsValid() {
		return local, true
	}
	return address, address.IsValid()
}
