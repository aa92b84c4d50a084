//go:build linux

package nftables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// applyTries bounds the attempts of Apply when its view of a network set
// was out of date (see stale), which fails the whole transaction.
const applyTries = 3

type nft struct {
	mu     sync.Mutex // serializes transactions: plans of network sets must not interleave
	cfg    config
	log    *slog.Logger
	closed bool
	// jails are the jails of the last Setup, by name.
	jails map[string]firewall.Jail
	// sent counts the transactions sent, so that a read without the lock
	// can tell whether one may have torn it: the kernel's dump of a set
	// that changes meanwhile can skip elements (TestKernelListWhileApplying).
	sent uint64
}

// readTries is how often a read is taken without the lock before the last
// try holds it: a torn read is taken again.
const readTries = 3

// New returns the nftables backend. It asks the kernel for its own table at
// once, so that missing privileges or nftables support show at start.
func New(opts ...Option) (firewall.Firewall, error) {
	cfg := newConfig(opts)
	n := &nft{cfg: cfg, log: cfg.log.With("firewall", "nftables")}
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
	n.sent++
	return n.withConn(fn)
}

// read runs fn with a connection of its own, without holding the lock:
// listing 100,000 elements takes the kernel a while, and bans need not wait.
// A read during which a transaction was sent may be torn and is taken again,
// the last time under the lock; fn must start afresh each time.
func (n *nft) read(ctx context.Context, fn func(c *nftables.Conn) error) error {
	for try := 1; ; try++ {
		end, err := n.begin(ctx)
		if err != nil {
			return err
		}
		if try == readTries {
			defer end()
			return n.withConn(fn)
		}
		sent := n.sent
		end()
		if err := n.withConn(fn); err != nil {
			return err
		}
		n.mu.Lock()
		whole := n.sent == sent
		n.mu.Unlock()
		if whole {
			return nil
		}
		n.log.Debug("reading again: a transaction was sent while reading")
	}
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
		oldBits, err := ruleBits(c)
		if err != nil {
			return err
		}
		n.setupBatch(c, jails, old, oldBits)
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
	n.sent++
	return n.apply(norm)
}

// Restore is Apply of additions in address order: the kernel accepts a host
// key it already holds again (the batch does not ask for exclusive
// creation), so the host sets need not be read; only the network sets,
// which are small, are planned on what the kernel lists.
func (n *nft) Restore(ctx context.Context, bans []firewall.Change) error {
	norm, err := firewall.RestoreOrder(bans)
	if err != nil || len(norm) == 0 {
		return err
	}
	end, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	n.sent++
	return n.apply(norm)
}

// List reads the sets without the lock (see read): a listing torn by a
// transaction sent meanwhile is taken again.
func (n *nft) List(ctx context.Context) ([]firewall.Element, error) {
	end, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	jails := n.jails // Setup replaces the map, never changes it
	end()
	var out []firewall.Element
	err = n.read(ctx, func(c *nftables.Conn) (err error) {
		out, err = n.list(c, jails)
		return err
	})
	return out, err
}

func (n *nft) Flush(ctx context.Context) error {
	return n.call(ctx, func(c *nftables.Conn) error {
		c.DelTable(ourTable())
		n.jails = nil
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("nftables: delete table inet %s: %w", firewall.Table, err)
		}
		return nil
	})
}

// stale reports whether a transaction failed because the planned view of a
// network set was out of date: an element expired (or was removed by
// someone else) before the deletion, or one appeared that overlaps an
// addition.
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
