package daemon

import (
	"context"
	"fmt"

	"github.com/peerjail/peerjail/internal/jail"
)

// unbanEvery is Unban without a jail: host's ban lifted in every jail that
// has one (each reads host with its own IPv6 grouping), or with all every
// ban of every jail, in one flush.
func (d *Daemon) unbanEvery(ctx context.Context, host string, all bool) (int, error) {
	g, release := d.acquire()
	defer release()
	now := d.o.Now()
	var decs []jail.Decision
	var unreadable error
	readers := 0
	for _, lj := range g.jails {
		if all {
			g.eng.Do(func() { decs = append(decs, lj.lane.Counter.UnbanAll(now)...) })
			continue
		}
		k, err := d.unbanKey(g, lj, host)
		if err != nil {
			unreadable = err
			continue
		}
		readers++
		g.eng.Do(func() {
			if dec, ok := lj.lane.Counter.Unban(k, now); ok {
				decs = append(decs, dec)
			}
		})
	}
	if !all && len(decs) == 0 {
		if readers == 0 && unreadable != nil {
			return 0, unreadable
		}
		return 0, invalid{fmt.Errorf("%s is not banned in any jail", host)}
	}
	d.enf.audit.manual(ctx, decs...)
	for _, dec := range decs {
		d.enf.queue(dec)
	}
	return len(decs), d.enf.flush(ctx, true)
}
