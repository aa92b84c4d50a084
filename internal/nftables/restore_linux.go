//go:build linux

package nftables

import (
	"context"

	"github.com/google/nftables"

	"github.com/peerjail/peerjail/internal/firewall"
)

// Restore plans the bans on the cache, or where a set is not cached, on an
// empty set, and sends them as additions: the kernel accepts an element it
// already holds again (the batch does not ask for exclusive creation), so
// nothing needs to be read. The cache then holds the bans and knows that the
// set may hold more: an element it lacks that overlaps a later ban makes
// that transaction fail and be planned again on a fresh read, as a stale
// cache always does, and removing an element it lacks reads the set first.
// The next List fills it in.
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
	if n.cfg.hash {
		return n.applyHash(norm, true)
	}
	err = n.withConn(func(c *nftables.Conn) error { return n.send(c, norm, n.view(c, false)) })
	if err == nil {
		return nil
	}
	n.cache.clear()
	if !stale(err) {
		return err
	}
	n.log.Info("an element overlaps a restored ban; planning on the sets as listed", "err", err)
	return n.applyLocked(norm)
}
