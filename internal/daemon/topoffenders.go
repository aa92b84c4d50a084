package daemon

import (
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// The top offenders of each jail for peerjail_top_offender_hits: a bounded
// set of series (topOffendersN hosts a jail), which the dashboard's table
// shows. Finding them walks every host failing now on the counting side,
// about 100 ms for a million (BenchmarkFailingTop10 in internal/jail), so
// one walk serves every scrape within topOffendersEvery.
const (
	topOffendersN     = 10
	topOffendersEvery = 15 * time.Second
)

type topCache struct {
	mu     sync.Mutex
	gen    *generation
	at     time.Time
	byJail [][]jail.Offender // by the generation's jail index
}

// get returns g's top offenders by jail index, found again when the ones
// held are older than topOffendersEvery or of another generation. The
// caller holds g's engine.
func (c *topCache) get(g *generation, now time.Time) [][]jail.Offender {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == g && now.Sub(c.at) < topOffendersEvery && !now.Before(c.at) {
		return c.byJail
	}
	c.gen, c.at = g, now
	c.byJail = make([][]jail.Offender, len(g.jails))
	for i, lj := range g.jails {
		c.byJail[i] = lj.lane.Counter.Failing(now, topOffendersN)
	}
	return c.byJail
}
