package pipeline

import (
	"fmt"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// A recidive lane (Lane.Recidive set) reads no source: its hits are the bans
// of the lanes it counts, fed to it by the engine in counting order, so that
// replay and the daemon count them alike.

// linkRecidive makes every lane that reads logs feed its bans to the
// recidive lanes that count them. A recidive lane feeds none: it never
// counts its own bans, nor another recidive lane's.
func linkRecidive(jails []*Lane) {
	for _, src := range jails {
		src.feeds = nil
		if src.Recidive != nil || src.Counter == nil {
			continue
		}
		for _, r := range jails {
			if r.Recidive != nil && r.Counter != nil && r.Recidive.Counts(r.Counter.Name(), src.Counter.Name()) {
				src.feeds = append(src.feeds, r)
			}
		}
	}
}

// CountBan counts a ban that src's jail made outside its lines (a manual
// ban) in the recidive lanes that count src, as a ban found in its lines
// is: fail2ban's recidive counts `banip` too, since it reads the log of
// every ban. A recidive ban that follows reaches OnDecision after d. Call
// it from inside Do, once d is handed on.
func (e *Engine) CountBan(src *Lane, d jail.Decision) {
	if d.Action == jail.ActionBan {
		e.feedRecidive(src, d)
	}
}

// feedRecidive counts src's ban d as a hit on the banned key in each
// recidive lane that counts src, at the ban's start.
func (e *Engine) feedRecidive(src *Lane, d jail.Decision) {
	for _, r := range src.feeds {
		c := &r.Counts
		rd, v := r.Counter.AddKey(d.Key, d.At, banLine(d))
		switch v {
		case jail.IgnoredHost:
			c.Ignored++
			continue
		case jail.InvalidHost:
			c.NoHost++
			continue
		case jail.AlreadyBanned:
			c.Banned++
		case jail.Banned:
			c.Bans++
			e.noteBan(rd)
		}
		c.Matched++
		switch {
		case r.Hosts != nil:
			r.Hosts[d.Key]++
		case r.tally != nil:
			r.tally.add(d.Key)
		}
	}
}

// banLine is a ban as a recidive ban's evidence shows it: which jail banned
// what, when and for how long.
func banLine(d jail.Decision) []byte {
	return fmt.Appendf(nil, "%s jail %s banned %s for %s (offence %d)",
		d.At.UTC().Format(time.RFC3339), d.Jail, d.Key, d.Duration, d.Offences)
}

// PastBan is a ban made before the engine ran, as the state store remembers
// it: a jail's latest ban of a key and when it started.
type PastBan struct {
	Jail string
	Key  jail.Key
	At   time.Time
}

// SeedRecidive puts past bans back into the windows of the named recidive
// lanes (nil: every one), so that neither a restart nor a recidive jail new
// to the configuration forgets the bans it would have counted. A lane takes
// the bans of the jails it counts that fall within its findtime before now;
// one its window holds already (restored from its saved pending window) is
// not counted twice, nor one its own past ban of the key (in past too)
// counted already. Like jail.Counter.RestorePending, seeding never bans:
// the next ban counted does. It returns how many bans were taken. Call it
// before Run, or inside Do.
func (e *Engine) SeedRecidive(names []string, past []PastBan, now time.Time) int {
	n := 0
	for _, r := range e.jails {
		if r.Recidive == nil || (names != nil && !slices.Contains(names, r.Counter.Name())) {
			continue
		}
		n += e.seed(r, past, now)
	}
	return n
}

func (e *Engine) seed(r *Lane, past []PastBan, now time.Time) int {
	counted := map[string]bool{}
	for _, src := range e.jails {
		if slices.Contains(src.feeds, r) {
			counted[src.Counter.Name()] = true
		}
	}
	held := map[jail.Key][]time.Time{}
	for _, p := range r.Counter.Pending(now) {
		held[p.Key] = p.Hits
	}
	own := map[jail.Key]time.Time{}
	for _, p := range past {
		if p.Jail == r.Counter.Name() {
			own[p.Key] = p.At
		}
	}
	byKey := map[jail.Key][]time.Time{}
	var order []jail.Key
	lo := now.Add(-r.findTime)
	n := 0
	for _, p := range past {
		if !counted[p.Jail] || !p.At.After(lo) || p.At.After(now) || !p.At.After(own[p.Key]) {
			continue
		}
		if slices.ContainsFunc(held[p.Key], p.At.Equal) {
			continue
		}
		if byKey[p.Key] == nil {
			order = append(order, p.Key)
		}
		byKey[p.Key] = append(byKey[p.Key], p.At.UTC())
		n++
	}
	ps := make([]jail.Pending, len(order))
	for i, k := range order {
		ps[i] = jail.Pending{Key: k, Hits: byKey[k]}
	}
	r.Counter.RestorePending(ps, now)
	return n
}

func newRecidiveLane(jc config.Jail) (*Lane, error) {
	j, err := jail.NewCounter(jc.Policy)
	if err != nil {
		return nil, fmt.Errorf("jail %q: %w", jc.Name, err)
	}
	r := *jc.Recidive
	r.Jails = slices.Clone(r.Jails)
	return &Lane{Counter: j, Recidive: &r}, nil
}
