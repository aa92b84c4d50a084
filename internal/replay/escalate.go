package replay

import (
	"fmt"
	"strings"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// The report's share of ipv6_escalation and recidive jails: an escalated ban
// says the length it was widened from, a recidive ban counts bans, not hits.

func recidiveJails(js []*replayJail) map[string]bool {
	m := map[string]bool{}
	for _, j := range js {
		if j.cfg.Recidive != nil {
			m[j.cfg.Name] = true
		}
	}
	return m
}

// hits is "5 hits", or for a recidive jail "3 bans".
func (r *reporter) hits(d jail.Decision) string {
	if r.recidive[d.Jail] {
		return fmt.Sprintf("%d bans", d.Hits)
	}
	return fmt.Sprintf("%d hits", d.Hits)
}

// escalated is ", escalated from /128" for a widened ban, else "".
func escalated(d jail.Decision) string {
	if d.EscalatedFrom == 0 {
		return ""
	}
	return fmt.Sprintf(", escalated from /%d", d.EscalatedFrom)
}

// counts is what a jail counts, for its table's heading: its filter, or the
// jails whose bans a recidive jail counts.
func counts(j config.Jail) string {
	switch {
	case j.Recidive == nil:
		return "filter " + j.FilterName
	case len(j.Recidive.Jails) == 0:
		return "recidive of every other jail"
	}
	return "recidive of " + strings.Join(j.Recidive.Jails, ", ")
}

// feeds reports whether jc is a jail whose bans the recidive jail named
// only counts: replaying that recidive jail alone replays them too.
func feeds(c *config.Config, only string, jc config.Jail) bool {
	if jc.Recidive != nil {
		return false
	}
	for _, r := range c.Jails {
		if r.Name == only && r.Recidive != nil {
			return r.Recidive.Counts(r.Name, jc.Name)
		}
	}
	return false
}
