package daemon

import (
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/pipeline"
)

// seedRecidive gives the recidive jails of g that start counting afresh
// (new, or with a changed configuration) the bans the store remembers
// within their findtime: each jail's latest ban of each key (offender
// history). A recidive jail that was running before has its own pending
// window saved and restored like any jail; seeding adds only the bans that
// window does not hold, and never bans by itself (Engine.SeedRecidive). A
// store that cannot be read costs the history, never the start.
func (d *Daemon) seedRecidive(g *generation) {
	var names []string
	for _, lj := range g.jails {
		if lj.cfg.Recidive != nil && !lj.carried {
			names = append(names, lj.cfg.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	offenders, err := d.st.Offenders("")
	if err != nil {
		d.log.Warn("read ban history; recidive jails start without it", "err", err)
		return
	}
	past := make([]pipeline.PastBan, 0, len(offenders))
	for _, o := range offenders {
		// Keys are Key.String()s: /128 keeps a narrowed one as it was.
		if k, err := jail.ParseKey(o.Key, 128); err == nil {
			past = append(past, pipeline.PastBan{Jail: o.Jail, Key: k, At: o.Last})
		}
	}
	var n int
	g.eng.Do(func() { n = g.eng.SeedRecidive(names, past, d.o.Now()) })
	if n > 0 {
		d.log.Info("recidive windows seeded from ban history", "jails", names, "bans", n)
	}
}
