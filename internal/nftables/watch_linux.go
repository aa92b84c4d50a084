//go:build linux

package nftables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

var _ firewall.Watcher = (*nft)(nil)

// monitorBuffer holds the kernel's events while the watch reads them: one
// transaction of 10,000 bans announces each element, about a kilobyte of
// socket buffer apiece. An overflow ends the watch (the caller verifies and
// watches again).
const monitorBuffer = 16 << 20

// Watch subscribes to the namespace's nftables events. Each committed
// transaction ends with a generation message naming the thread that made
// it; transactions of this process's own threads are skipped, those of
// others that touch table inet peerjail, or delete sets or set elements
// (whose events do not name the table), call changed.
func (n *nft) Watch(ctx context.Context, changed func()) error {
	if n.cfg.dial != nil {
		return errors.New("nftables: watch needs the kernel")
	}
	c, err := nftables.New(nftables.WithNetNSFd(n.cfg.netns), nftables.WithSockOptions(tuneMonitor), nftables.AsLasting())
	if err != nil {
		return fmt.Errorf("nftables: open netlink for events: %w", err)
	}
	// Only MonitorObjectAny works with v0.3.0: the library tests a specific
	// object's flags as (flags&1)<<type, which is 0 for all of them.
	mon := nftables.NewMonitor(nftables.WithMonitorEventBuffer(64))
	events, err := c.AddGenerationalMonitor(mon)
	if err != nil {
		_ = c.CloseLasting()
		return fmt.Errorf("nftables: subscribe to events: %w", err)
	}
	// Closing the socket ends the library's reader, which closes events;
	// it is also what releases the socket after a read error, which the
	// monitor does not close.
	stop := context.AfterFunc(ctx, func() { _ = c.CloseLasting() })
	defer stop()
	defer c.CloseLasting()
	var failed error
	for evs := range events {
		if evs.GeneratedBy == nil {
			continue
		}
		if evs.GeneratedBy.Type == nftables.MonitorEventTypeOOB {
			failed = evs.GeneratedBy.Error
			continue // the reader closes events after it
		}
		if foreign(evs) && concernsUs(evs.Changes) {
			changed()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed == nil {
		failed = errors.New("event stream closed")
	}
	return fmt.Errorf("nftables: watch events: %w", failed)
}

// foreign reports whether a transaction was made by another process: the
// kernel names the thread that committed it, and this process's threads are
// listed under /proc/self/task.
func foreign(evs *nftables.MonitorEvents) bool {
	gen, ok := evs.GeneratedBy.Data.(*nftables.GenMsg)
	if !ok || gen.ProcPID == 0 {
		return true
	}
	_, err := os.Stat("/proc/self/task/" + strconv.FormatUint(uint64(gen.ProcPID), 10))
	return err != nil
}

// concernsUs reports whether changes touch table inet peerjail, or delete
// sets or set elements, which may be ours.
func concernsUs(changes []*nftables.MonitorEvent) bool {
	for _, ev := range changes {
		var t *nftables.Table
		switch data := ev.Data.(type) {
		case *nftables.Table:
			t = data
		case *nftables.Chain:
			t = data.Table
		case *nftables.Rule:
			t = data.Table
		}
		if t != nil && t.Name == firewall.Table && t.Family == nftables.TableFamilyINet {
			return true
		}
		// The library does not read the table of a set or its elements.
		if ev.Type == nftables.MonitorEventTypeDelSet || ev.Type == nftables.MonitorEventTypeDelSetElem {
			return true
		}
	}
	return false
}

// tuneMonitor gives the event socket a receive buffer for large
// transactions.
func tuneMonitor(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		rerr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, monitorBuffer)
	}); err != nil || rerr != nil {
		_ = c.SetReadBuffer(monitorBuffer)
	}
	return nil
}
