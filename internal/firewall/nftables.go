//go:build linux

package firewall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// sendBuffer bounds one transaction: a netlink batch goes out in a single
// sendmsg, and the default socket buffer (~200 KiB) holds only about 2,500
// IPv6 bans.
const sendBuffer = 16 << 20

// applyTries bounds the attempts of Apply when its view of a set was out of
// date (see stale), which fails the whole transaction.
const applyTries = 3

type nft struct {
	mu     sync.Mutex // serializes calls: the cache and the kernel's sets must agree
	cfg    config
	log    *slog.Logger
	now    func() time.Time
	cache  cache
	closed bool
}

// NewNFTables returns the nftables backend. It asks the kernel for its own
// table at once, so that missing privileges or nftables support show at start.
func NewNFTables(opts ...Option) (Firewall, error) {
	cfg := newConfig(opts)
	n := &nft{cfg: cfg, log: cfg.log.With("firewall", "nftables"), now: time.Now}
	if cfg.now != nil {
		n.now = cfg.now
	}
	c, err := n.open()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	if _, err := c.ListTableOfFamily(Table, nftables.TableFamilyINet); err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("nftables: read table inet %s: %w", Table, err)
	}
	return n, nil
}

// open returns a connection for one call of the interface: a socket of its
// own, so that a failed call cannot leave unread replies to the next one.
func (n *nft) open() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if n.cfg.testDial != nil {
		opts = append(opts, nftables.WithTestDial(n.cfg.testDial))
	} else {
		opts = append(opts, nftables.WithNetNSFd(n.cfg.netns), nftables.WithSockOptions(tuneSocket))
	}
	c, err := nftables.New(append(opts, nftables.AsLasting())...)
	if err != nil {
		return nil, fmt.Errorf("nftables: open netlink: %w", err)
	}
	return c, nil
}

// tuneSocket asks for error messages from the kernel and a send buffer
// large enough for a big burst of bans in one transaction.
func tuneSocket(c *netlink.Conn) error {
	_ = c.SetOption(netlink.ExtendedAcknowledge, true) // only improves errors
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer)
	}); err != nil || serr != nil {
		_ = c.SetWriteBuffer(sendBuffer) // without CAP_NET_ADMIN: capped by wmem_max
	}
	return nil
}

// begin locks the firewall for one call; end unlocks it.
func (n *nft) begin(ctx context.Context) (end func(), err error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		n.mu.Unlock()
		return nil, err
	}
	return n.mu.Unlock, nil
}

// call runs fn under the lock with a connection of its own.
func (n *nft) call(ctx context.Context, fn func(c *nftables.Conn) error) error {
	end, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return n.withConn(fn)
}

func (n *nft) withConn(fn func(c *nftables.Conn) error) error {
	c, err := n.open()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	return fn(c)
}

func (n *nft) Setup(ctx context.Context, jails []Jail) error {
	if err := validJails(jails); err != nil {
		return err
	}
	return n.call(ctx, func(c *nftables.Conn) error {
		old, err := readSets(c)
		if err != nil {
			return err
		}
		n.setupBatch(c, jails, old)
		n.cache.clear() // sets may have been replaced or removed
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables: set up table inet %s: %w", Table, err)
		}
		return nil
	})
}

func (n *nft) Apply(ctx context.Context, changes []Change) error {
	norm, err := normalizeAll(changes)
	if err != nil || len(norm) == 0 {
		return err
	}
	end, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	for try := 1; ; try++ {
		err = n.withConn(func(c *nftables.Conn) error { return n.applyOnce(c, norm) })
		if err == nil {
			return nil
		}
		n.cache.clear()
		if try == applyTries || !stale(err) {
			return err
		}
		n.log.Debug("retrying apply on the sets as the kernel lists them", "err", err)
	}
}

func (n *nft) List(ctx context.Context) ([]Element, error) {
	var out []Element
	err := n.call(ctx, func(c *nftables.Conn) error {
		sets, err := readSets(c)
		if err != nil {
			return err
		}
		for name, s := range sets {
			_, v4, ok := jailOf(name)
			if !ok {
				continue
			}
			now := n.now()
			spans, err := readSpans(c, s, v4)
			if err != nil {
				return err
			}
			n.cache.put(name, spans, now)
			out = append(out, elementsOf(name, spans, n.log)...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortElements(out)
	return out, nil
}

func (n *nft) Flush(ctx context.Context) error {
	return n.call(ctx, func(c *nftables.Conn) error {
		c.DelTable(ourTable())
		n.cache.clear()
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("nftables: delete table inet %s: %w", Table, err)
		}
		return nil
	})
}

// stale reports whether a transaction failed because the planned view of a
// set was out of date: an element expired (or was removed by someone else)
// before the deletion, or one appeared that overlaps an addition.
func stale(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY)
}

// Close ends the use of the firewall; the kernel keeps the bans.
func (n *nft) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	return nil
}
