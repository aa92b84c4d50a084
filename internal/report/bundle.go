package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/audit"
)

// Bundle is the evidence report on one host: what an operator hands to
// others so they can check it against their own logs. Its JSON form is
// what `peerjail report --format json` prints.
type Bundle struct {
	Host      string    `json:"host"`
	Generated time.Time `json:"generated"`
	Since     time.Time `json:"since,omitzero"`
	Version   string    `json:"peerjail_version"`
	// Redacted says whether this host's addresses and name and sshd's
	// user names were replaced by <self>, <hostname> and <user>.
	Redacted  bool       `json:"redacted"`
	Seen      []Seen     `json:"seen"`
	Decisions []Decision `json:"decisions"`
	Evidence  []Evidence `json:"evidence"`
	Policies  []Policy   `json:"policies"`
}

// Seen sums up one jail's bans of the host.
type Seen struct {
	Jail   string `json:"jail"`
	Filter string `json:"filter"`
	// Window is the jail's findtime: the hits of a ban fell within it.
	Window string `json:"window"`
	Bans   int    `json:"bans"`
	// Offences is the jail's count of the host's bans: the state file's,
	// which may hold bans older than the trail.
	Offences int `json:"offences"`
	// Hits adds up the hits in the window at each ban.
	Hits int `json:"hits"`
	// First and Last are the decisive hits of the first and last ban.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Decision is one ban, escalation or unban of the host.
type Decision struct {
	Time     time.Time      `json:"time"`
	Event    string         `json:"event"`
	By       string         `json:"by"`
	Jail     string         `json:"jail"`
	Key      string         `json:"key"`
	Until    time.Time      `json:"until,omitzero"`
	Hits     int            `json:"hits,omitempty"`
	Offences int            `json:"offences,omitempty"`
	Actions  []audit.Result `json:"actions"`
}

// Evidence is one matched line behind a ban, with where the jail read it.
type Evidence struct {
	Jail    string    `json:"jail"`
	Ban     time.Time `json:"ban"` // the ban it led to (its decisive hit)
	Sources []string  `json:"sources"`
	Line    string    `json:"line"`
}

// Policy is a jail's policy as its latest ban of the host recorded it.
type Policy struct {
	Jail     string `json:"jail"`
	Filter   string `json:"filter"`
	FindTime string `json:"findtime"`
	MaxRetry int    `json:"maxretry"`
	BanTime  string `json:"bantime"`
}

// BundleOptions complete a Bundle beyond what the history holds.
type BundleOptions struct {
	Host    Host
	Since   time.Time
	Now     time.Time
	Version string
	// Redact, when not nil, is applied to every evidence line.
	Redact *Redactor
}

// NewBundle builds the report on o.Host from its history.
func NewBundle(h History, o BundleOptions) Bundle {
	b := Bundle{Host: o.Host.String(), Generated: o.Now.UTC(), Since: o.Since.UTC(), Version: o.Version, Redacted: o.Redact != nil,
		Seen: []Seen{}, Decisions: []Decision{}, Evidence: []Evidence{}, Policies: []Policy{}}
	seen := map[string]*Seen{}
	policies := map[string]Policy{}
	for _, e := range h.Entries {
		if s := seen[e.Jail]; s != nil {
			s.Offences = max(s.Offences, e.Offences)
		} else {
			seen[e.Jail] = &Seen{Jail: e.Jail, Offences: e.Offences}
		}
		for _, r := range e.Events {
			b.Decisions = append(b.Decisions, decision(r))
			// Only bans count as seen; an action record is a queued
			// action's answer to one of them.
			if r.Event != audit.EventBan && r.Event != audit.EventEscalation {
				continue
			}
			s := seen[r.Jail]
			if s.First.IsZero() {
				s.First = r.At
			}
			s.Bans++
			s.Hits += r.Hits
			s.Filter = r.Filter
			if r.At.Before(s.First) {
				s.First = r.At
			}
			if r.At.After(s.Last) {
				s.Last = r.At
			}
			if r.Policy != nil {
				s.Window = r.Policy.FindTime
				policies[r.Jail] = Policy{Jail: r.Jail, Filter: r.Filter, FindTime: r.Policy.FindTime, MaxRetry: r.Policy.MaxRetry, BanTime: r.Policy.BanTime}
			}
			for _, line := range r.Evidence {
				if o.Redact != nil {
					line = o.Redact.Line(line)
				}
				b.Evidence = append(b.Evidence, Evidence{Jail: r.Jail, Ban: r.At, Sources: nonNil(r.Sources), Line: line})
			}
		}
	}
	for _, s := range seen {
		b.Seen = append(b.Seen, *s)
	}
	for _, p := range policies {
		b.Policies = append(b.Policies, p)
	}
	slices.SortFunc(b.Seen, func(x, y Seen) int { return cmp.Compare(x.Jail, y.Jail) })
	slices.SortFunc(b.Policies, func(x, y Policy) int { return cmp.Compare(x.Jail, y.Jail) })
	slices.SortStableFunc(b.Decisions, func(x, y Decision) int { return x.Time.Compare(y.Time) })
	slices.SortStableFunc(b.Evidence, func(x, y Evidence) int { return x.Ban.Compare(y.Ban) })
	return b
}

func decision(r audit.Record) Decision {
	return Decision{Time: r.Time, Event: r.Event, By: r.By, Jail: r.Jail, Key: r.Key, Until: r.Until,
		Hits: r.Hits, Offences: r.Offences, Actions: nonNil(r.Actions)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
