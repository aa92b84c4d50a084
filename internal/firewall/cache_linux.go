//go:build linux

package firewall

import "time"

// cache remembers each set's contents after the last transaction that
// changed it, so that Apply need not read the set back from the kernel each
// time: the kernel lists a set in time quadratic in its size (70,000 bans
// took 16 s here). It is only a guide for planning: a transaction that fails
// because it was wrong clears it and is retried on what the kernel lists, and
// List always reads the kernel.
type cache struct {
	sets map[string]cachedSet
}

type cachedSet struct {
	spans []span
	at    time.Time // when the spans' remaining times were true
}

// get returns a set's spans aged to now. Elements stay until expiryMargin
// past their expiry: the kernel starts a timeout when it commits, a little
// after the time put recorded, so the kernel may still hold them; the
// planner replaces such elements rather than trusting them.
func (c *cache) get(set string, now time.Time) ([]span, bool) {
	cs, ok := c.sets[set]
	if !ok {
		return nil, false
	}
	elapsed := now.Sub(cs.at)
	out := make([]span, 0, len(cs.spans))
	for _, s := range cs.spans {
		if s.timeout > 0 {
			s.remaining -= elapsed
			if s.remaining <= -expiryMargin {
				continue
			}
		}
		out = append(out, s)
	}
	return out, true
}

// put records a set's contents as of at, a time taken before the
// transaction that made them was sent.
func (c *cache) put(set string, spans []span, at time.Time) {
	if c.sets == nil {
		c.sets = map[string]cachedSet{}
	}
	c.sets[set] = cachedSet{spans: spans, at: at}
}

func (c *cache) clear() { c.sets = nil }
