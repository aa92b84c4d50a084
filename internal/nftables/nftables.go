//go:build linux

package nftables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// applyTries bounds the attempts of Apply when its view of a set was out of
// date (see stale), which fails the whole transaction.
const applyTries = 3

// listTries bounds the listings List takes without the lock; the last one
// holds it.
const listTries = 3

type nft struct {
	mu     sync.Mutex // serializes calls: the cache and the kernel's sets must agree
	cfg    config
	log    *slog.Logger
	now    func() time.Time
	cache  cache
	closed bool
	// sent counts the transactions sent, so that List, which reads without
	// the lock, can tell whether one may have torn its view.
	sent uint64
	// jails are the jails of the last Setup, by name.
	jails map[string]firewall.Jail
}

// New returns the nftables backend. It asks the kernel for its own
// table at once, so that missing privileges or nftables support show at start.
func New(opts ...Option) (firewall.Firewall, error) {
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
	if _, err := c.ListTableOfFamily(firewall.Table, nftables.TableFamilyINet); err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("nftables: read table inet %s: %w", firewall.Table, err)
	}
	return n, nil
}

// open returns a connection for one call of the interface: a socket of its
// own, so that a failed call cannot leave unread replies to the next one.
func (n *nft) open() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if n.cfg.dial != nil {
		opts = append(opts, n.cfg.dial...)
	} else {
		opts = append(opts, nftables.WithNetNSFd(n.cfg.netns), nftables.WithSockOptions(tuneSocket))
	}
	c, err := nftables.New(append(opts, nftables.AsLasting())...)
	if err != nil {
		return nil, fmt.Errorf("nftables: open netlink: %w", err)
	}
	return c, nil
}

// begin locks the firewall for one call; end unlocks it.
func (n *nft) begin(ctx context.Context) (end func(), err error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, firewall.ErrClosed
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

func (n *nft) Setup(ctx context.Context, jails []firewall.Jail) error {
	if err := firewall.CheckJails(jails); err != nil {
		return err
	}
	return n.call(ctx, func(c *nftables.Conn) error {
		old, err := readSets(c)
		if err != nil {
			return err
		}
		var oldBits map[string]int
		if n.cfg.hash {
			if oldBits, err = ruleBits(c); err != nil {
				return err
			}
		}
		n.setupBatch(c, jails, old, oldBits)
		n.cache.clear() // sets may have been replaced or removed
		n.sent++
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables: set up table inet %s: %w", firewall.Table, err)
		}
		n.jails = make(map[string]firewall.Jail, len(jails))
		for _, j := range jails {
			n.jails[j.Name] = j
		}
		return nil
	})
}

func (n *nft) Apply(ctx context.Context, changes []firewall.Change) error {
	norm, err := firewall.Normalize(changes)
	if err != nil || len(norm) == 0 {
		return err
	}
	end, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if n.cfg.hash {
		return n.applyHash(norm, false)
	}
	return n.applyLocked(norm)
}

// applyLocked plans on the cache, and when the kernel refuses the plan
// (someone else changed a set, or an element expired), on a fresh read.
func (n *nft) applyLocked(changes []firewall.Change) error {
	for try := 1; ; try++ {
		err := n.withConn(func(c *nftables.Conn) error { return n.applyOnce(c, changes) })
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

// List reads the sets without holding the lock, because the kernel takes
// seconds to list 100,000 elements and bans must not wait that long; a
// listing during which a transaction was sent may be torn, and is taken
// again (the last time under the lock). A whole listing refreshes the cache.
func (n *nft) List(ctx context.Context) ([]firewall.Element, error) {
	if n.cfg.hash {
		end, err := n.begin(ctx)
		if err != nil {
			return nil, err
		}
		end()
		var out []firewall.Element
		err = n.withConn(func(c *nftables.Conn) (err error) {
			out, err = n.listHash(c)
			return err
		})
		return out, err
	}
	for try := 1; ; try++ {
		out, err := n.listOnce(ctx, try == listTries)
		if !errors.Is(err, errTorn) {
			return out, err
		}
		n.log.Debug("listing again: a transaction was sent while listing")
	}
}

var errTorn = errors.New("sets changed while listed")

func (n *nft) listOnce(ctx context.Context, locked bool) ([]firewall.Element, error) {
	end, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	sent := n.sent
	if !locked {
		end()
	}
	read := map[string]cachedSet{}
	err = n.withConn(func(c *nftables.Conn) error {
		sets, err := readSets(c)
		if err != nil {
			return err
		}
		for name, s := range sets {
			_, v4, ok := firewall.JailOfSet(name)
			if !ok {
				continue
			}
			now := n.now()
			spans, err := readSpans(c, s, v4)
			if err != nil {
				return err
			}
			read[name] = cachedSet{spans: spans, at: now}
		}
		return nil
	})
	if !locked {
		n.mu.Lock()
	}
	defer n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if n.sent != sent {
		return nil, errTorn
	}
	var out []firewall.Element
	for name, cs := range read {
		n.cache.put(name, cs.spans, cs.at, false)
		out = append(out, firewall.ElementsOf(name, cs.spans, n.log)...)
	}
	firewall.SortElements(out)
	return out, nil
}

func (n *nft) Flush(ctx context.Context) error {
	return n.call(ctx, func(c *nftables.Conn) error {
		c.DelTable(ourTable())
		n.cache.clear()
		n.sent++
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("nftables: delete table inet %s: %w", firewall.Table, err)
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

// dialer replaces the connection to the kernel in tests.
type dialer = []nftables.ConnOption
