package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// reporter writes decisions as they happen and the per-jail summary at the end.
type reporter struct {
	w     *bufio.Writer
	json  bool
	jails []*replayJail
	enc   *json.Encoder
	// bans counts bans per jail and key, for the top offenders table.
	bans map[string]map[jail.Key]int
	// recidive says which jails are recidive jails, whose hits are bans.
	recidive map[string]bool
	// active are the keys banned now, per jail: a ban of one of them is
	// the extension of an identity's ban to a new address.
	active map[string]map[jail.Key]bool
	cfgs   map[string]config.Jail
}

func newReporter(w io.Writer, asJSON bool, jails []*replayJail) *reporter {
	bw := bufio.NewWriterSize(w, 64<<10)
	r := &reporter{w: bw, json: asJSON, jails: jails, enc: json.NewEncoder(bw), bans: make(map[string]map[jail.Key]int),
		active: make(map[string]map[jail.Key]bool), cfgs: make(map[string]config.Jail)}
	for _, j := range jails {
		r.cfgs[j.cfg.Name] = j.cfg
		r.active[j.cfg.Name] = make(map[jail.Key]bool)
	}
	r.enc.SetEscapeHTML(false)
	r.recidive = recidiveJails(jails)
	return r
}

// The JSON Lines contract of docs/architecture.md; field order is part of it.
type banEvent struct {
	Event string `json:"event"`
	Jail  string `json:"jail"`
	Host  string `json:"host"`
	At    string `json:"at"`
	Until string `json:"until"`
	Hits  int    `json:"hits"`
	// Added after the original contract's fields, omitted when unset:
	// the length an escalated IPv6 ban's key had before it was widened,
	// and, for a recidive jail's ban, that its hits are bans.
	EscalatedFrom int  `json:"escalated_from,omitempty"`
	Recidive      bool `json:"recidive,omitempty"`
	// Added with identities: an identity's correlated addresses, whether
	// the ban only extends an active one to a new address, and the
	// actions that would have run.
	Addrs     []string `json:"addrs,omitempty"`
	Extension bool     `json:"extension,omitempty"`
	Actions   []string `json:"actions"`
}

type unbanEvent struct {
	Event   string   `json:"event"`
	Jail    string   `json:"jail"`
	Host    string   `json:"host"`
	At      string   `json:"at"`
	Addrs   []string `json:"addrs,omitempty"`
	Actions []string `json:"actions"`
}

type summaryEvent struct {
	Event   string `json:"event"`
	Jail    string `json:"jail"`
	Lines   int64  `json:"lines"`
	Matched int64  `json:"matched"`
	Ignored int64  `json:"ignored"`
	Hosts   int    `json:"hosts"`
	Bans    int64  `json:"bans"`
	// OutOfOrder counts hits whose stamp jumped (past the file's
	// modification time, or far back): counted at the time the log had
	// reached, not their own. Added after the original contract's fields.
	OutOfOrder int64 `json:"out_of_order"`
}

// stamp is RFC 3339 in UTC with milliseconds: fixed width, so the text
// timeline lines up, and precise enough for go-libp2p's millisecond stamps.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func (r *reporter) decision(d jail.Decision) {
	active := r.active[d.Jail]
	extension := d.Action == jail.ActionBan && active[d.Key]
	switch {
	case extension:
	case d.Action == jail.ActionBan:
		m := r.bans[d.Jail]
		if m == nil {
			m = make(map[jail.Key]int)
			r.bans[d.Jail] = m
		}
		m[d.Key]++
		active[d.Key] = true
	default:
		delete(active, d.Key)
	}
	actions := wouldRun(r.cfgs[d.Jail], d, extension)
	if actions == nil {
		actions = []string{}
	}
	addrs := prefixTexts(d.Addrs)
	if r.json {
		if d.Action == jail.ActionBan {
			r.enc.Encode(banEvent{Event: "ban", Jail: d.Jail, Host: d.Key.String(), At: stamp(d.At), Until: stamp(d.Until), Hits: d.Hits,
				EscalatedFrom: d.EscalatedFrom, Recidive: r.recidive[d.Jail], Addrs: addrs, Extension: extension, Actions: actions})
		} else {
			r.enc.Encode(unbanEvent{"unban", d.Jail, d.Key.String(), stamp(d.At), addrs, actions})
		}
		return
	}
	switch {
	case extension:
		fmt.Fprintf(r.w, "%s  ban+   %-16s %-28s at %s until %s", stamp(d.At), d.Jail, d.Key, strings.Join(addrs, ", "), stamp(d.Until))
	case d.Action == jail.ActionBan:
		fmt.Fprintf(r.w, "%s  ban    %-16s %-28s for %s (%s, offence %d%s)",
			stamp(d.At), d.Jail, d.Key, formatDuration(d.Duration), r.hits(d), d.Offences, escalated(d))
	default:
		fmt.Fprintf(r.w, "%s  unban  %-16s %s", stamp(d.At), d.Jail, d.Key)
	}
	if len(addrs) > 0 && !extension {
		fmt.Fprintf(r.w, " with %s", strings.Join(addrs, ", "))
	}
	if len(actions) > 0 {
		fmt.Fprintf(r.w, " → %s", strings.Join(actions, ", "))
	}
	r.w.WriteByte('\n')
}

// prefixTexts writes addresses as keys are written: a single address bare.
func prefixTexts(ps []netip.Prefix) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = jail.Key{Prefix: p}.String()
	}
	return out
}

// finish writes the summaries; lines is how many lines were read in all.
func (r *reporter) finish(took time.Duration, lines int64) error {
	for _, j := range r.jails {
		c := j.lane.Counts
		if r.json {
			r.enc.Encode(summaryEvent{"summary", j.cfg.Name, c.Lines, c.Matched, c.Ignored, j.lane.HostCount(), c.Bans, c.OutOfOrder})
			continue
		}
		r.table(j)
	}
	if !r.json && len(r.jails) > 0 {
		n := lines
		fmt.Fprintf(r.w, "\n%d lines in %s (%.0f lines/s)\n", n, took.Round(time.Millisecond), float64(n)/max(took.Seconds(), 1e-9))
	}
	return r.w.Flush()
}

func (r *reporter) table(j *replayJail) {
	c, p := j.lane.Counts, j.cfg.Policy
	fmt.Fprintf(r.w, "\njail %s: %s, maxretry %d in %s, bantime %s\n",
		j.cfg.Name, counts(j.cfg), p.MaxRetry, formatDuration(p.FindTime), formatDuration(p.BanTime))
	rows := []struct {
		k string
		v int64
	}{
		{"lines", c.Lines}, {"matched", c.Matched}, {"ignored", c.Ignored}, {"no host", c.NoHost},
		{"unparsed", c.Unparsed}, {"undated", c.Undated}, {"out of order", c.OutOfOrder}, {"hosts", int64(j.lane.HostCount())},
		{"bans", c.Bans}, {"still banned", int64(len(j.lane.Counter.Bans()))},
	}
	for _, row := range rows {
		fmt.Fprintf(r.w, "  %-13s %10d\n", row.k, row.v)
	}
	top := topOffenders(j.lane.HostHits(), 10)
	if len(top) == 0 {
		return
	}
	fmt.Fprintf(r.w, "  top offenders (hits, bans):\n")
	for _, o := range top {
		fmt.Fprintf(r.w, "    %-40s %8d %4d\n", o.key, o.hits, r.bans[j.cfg.Name][o.key])
	}
}

type offender struct {
	key  jail.Key
	hits int
}

func topOffenders(hosts map[jail.Key]int, n int) []offender {
	all := make([]offender, 0, len(hosts))
	for k, h := range hosts {
		all = append(all, offender{k, h})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].hits != all[j].hits {
			return all[i].hits > all[j].hits
		}
		return all[i].key.String() < all[j].key.String()
	})
	return all[:min(n, len(all))]
}

// formatDuration prints 1h30m rather than 1h30m0s, and days as 1d.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	for _, u := range []struct {
		unit time.Duration
		sym  string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.sym)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}
