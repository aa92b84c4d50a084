package control

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// JailStatus is one jail's state for `peerjail status`. Its JSON form is
// what `peerjail status --json` prints, a contract (docs/architecture.md):
//
//	{"name":"sshd","filter":"sshd","action":"nftables",
//	 "sources":["files:/var/log/auth.log"],
//	 "files":["/var/log/auth.log"],"journal":[],
//	 "failing":3,"total_hits":128,
//	 "banned":[{"host":"203.0.113.7","until":"2024-07-27T12:00:00Z","remaining":"55m0s","enforcement":"enforced"}],
//	 "total_banned":7,
//	 "findtime":"10m0s","maxretry":5,"bantime":"1h0m0s",
//	 "failing_hosts":[{"host":"198.51.100.9","hits":4,"last":"2024-07-27T11:04:50Z"}]}
//
// sources, files, journal and banned are always arrays, never null;
// failing_hosts is there only for one jail asked with a top. action is the
// comma list of the jail's actions (their config keys: "nftables,
// flow-admin http://127.0.0.1:9002"); actions has one entry per action in
// config order. Fields may be added; none will be renamed or removed.
type JailStatus struct {
	Name        string   `json:"name"`
	Filter      string   `json:"filter"`
	Action      string   `json:"action"`
	Sources     []string `json:"sources"`
	Files       []string `json:"files"`      // the files followed now (fail2ban's File list)
	Journal     []string `json:"journal"`    // the journal matches read
	Failing     int      `json:"failing"`    // hosts with hits inside findtime now
	TotalHits   int64    `json:"total_hits"` // since the daemon started
	Banned      []Banned `json:"banned"`     // current bans
	TotalBanned int64    `json:"total_banned"`
	FindTime    Duration `json:"findtime"`
	MaxRetry    int      `json:"maxretry"`
	BanTime     Duration `json:"bantime"`
	// Actions are the jail's actions, one line each in the text form.
	Actions []ActionStatus `json:"actions,omitempty"`
	// Fleet is set for a jail that publishes to or takes bans from the
	// fleet.
	Fleet *JailFleet `json:"fleet,omitempty"`
	// FailingHosts are, for one jail asked with a top (status JAIL --top
	// N), its hosts with the most hits inside findtime, most first.
	FailingHosts []FailingHost `json:"failing_hosts,omitempty"`
}

// FailingHost is a host with hits inside findtime now.
type FailingHost struct {
	Host string    `json:"host"`
	Hits int       `json:"hits"` // inside findtime, weighted
	Last time.Time `json:"last"` // the latest of them
}

// ActionStatus is one of a jail's actions as it stands now.
type ActionStatus struct {
	Name    string `json:"name"`    // e.g. "nftables", "flow-admin http://127.0.0.1:9002"
	Held    int    `json:"held"`    // bans of this jail the action holds now
	Queued  int    `json:"queued"`  // decisions waiting for it (retries included)
	Dropped int64  `json:"dropped"` // decisions dropped: queue full or retries exhausted
	// Failing is set while the action's last attempt failed: since when,
	// and why.
	Failing bool      `json:"failing"`
	Since   time.Time `json:"since,omitzero"`
	Error   string    `json:"error,omitempty"`
}

// Banned is one current ban.
type Banned struct {
	Host      string    `json:"host"` // address, prefix or identity, as in replay's output
	Until     time.Time `json:"until"`
	Remaining Duration  `json:"remaining"` // Until less the daemon's clock when it answered
	// Enforcement says whether the jail's actions hold the ban: "enforced"
	// (in a jail with nftables: the kernel held it, or an identity's
	// addresses, at the last apply or verification; in a jail without:
	// every queued action that takes it acknowledged it), "pending" (it
	// does not, Error says why; peerjail retries), "dry-run" (the jail only
	// logs), "identity" (an identity none of the jail's actions takes, and
	// no address known for it) or "none" (an address none of them takes).
	Enforcement string `json:"enforcement,omitempty"`
	Error       string `json:"error,omitempty"` // why a pending ban is not enforced
	// Addrs are, for a ban of an identity, the addresses it was seen at,
	// which the jail's address actions ban with it.
	Addrs []string `json:"addrs,omitempty"`
	// EscalatedFrom is, for an IPv6 prefix the jail widened to, the prefix
	// length its bans had before (ipv6_escalation).
	EscalatedFrom int `json:"escalated_from,omitempty"`
	// Source is "fleet" for a ban the fleet's quorum decided, absent for
	// a local one; Reporters are then the reporters that made the quorum.
	Source    string   `json:"source,omitempty"`
	Reporters []string `json:"reporters,omitempty"`
}

// JailFleet is a jail's part in the fleet: whether it shares its bans,
// the quorum its fleet policy asks (0: it takes no fleet bans), and
// whether the fleet is reachable now; local bans go on either way.
type JailFleet struct {
	Publish   bool `json:"publish"`
	Quorum    int  `json:"quorum,omitempty"`
	Connected bool `json:"connected"`
}

// Enforcement values of Banned.
const (
	Enforced = "enforced"
	Pending  = "pending"
)

// BanResult is what a manual ban did.
type BanResult struct {
	Jail     string    `json:"jail"`
	Host     string    `json:"host"` // the banned key: an address may widen to its IPv6 prefix
	Until    time.Time `json:"until"`
	Duration Duration  `json:"duration"`
}

// MarshalJSON keeps the documented shape: empty lists as [], not null.
func (s JailStatus) MarshalJSON() ([]byte, error) {
	type plain JailStatus
	p := plain(s)
	for _, l := range []*[]string{&p.Sources, &p.Files, &p.Journal} {
		if *l == nil {
			*l = []string{}
		}
	}
	if p.Banned == nil {
		p.Banned = []Banned{}
	}
	return json.Marshal(p)
}

// WriteStatus writes the text of `peerjail status`: the facts of
// fail2ban-client status, per jail. Times left are counted from now, and
// end times shown in now's location.
func WriteStatus(w io.Writer, st []JailStatus, now time.Time) {
	if len(st) == 0 {
		fmt.Fprintln(w, "no jails")
		return
	}
	names := make([]string, len(st))
	for i, s := range st {
		names[i] = s.Name
	}
	fmt.Fprintf(w, "%d %s: %s\n", len(st), plural(len(st), "jail", "jails"), strings.Join(names, ", "))
	for _, s := range st {
		fmt.Fprintln(w)
		writeJail(w, s, now)
	}
}

func writeJail(w io.Writer, s JailStatus, now time.Time) {
	fmt.Fprintf(w, "jail %s\n", s.Name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	sources := "none"
	if len(s.Sources) > 0 {
		sources = strings.Join(s.Sources, ", ")
	}
	fmt.Fprintf(tw, "  filter:\t%s\n", s.Filter)
	fmt.Fprintf(tw, "  action:\t%s\n", s.Action)
	fmt.Fprintf(tw, "  sources:\t%s\n", sources)
	writeWatched(tw, s)
	fmt.Fprintf(tw, "  policy:\tmaxretry %d in %s, bantime %s\n",
		s.MaxRetry, shortDuration(time.Duration(s.FindTime)), shortDuration(time.Duration(s.BanTime)))
	if s.Fleet != nil {
		fmt.Fprintf(tw, "  fleet:\t%s\n", fleetText(*s.Fleet))
	}
	fmt.Fprintf(tw, "  currently failing:\t%d %s\n", s.Failing, plural(s.Failing, "host", "hosts"))
	fmt.Fprintf(tw, "  total hits:\t%d\n", s.TotalHits)
	banned := fmt.Sprint(len(s.Banned))
	if n := pending(s.Banned); n > 0 {
		banned += fmt.Sprintf(" (%d not enforced yet)", n)
	}
	fmt.Fprintf(tw, "  currently banned:\t%s\n", banned)
	fmt.Fprintf(tw, "  total banned:\t%d\n", s.TotalBanned)
	_ = tw.Flush()
	writeBans(w, s.Banned, now)
	writeActions(w, s.Actions, now)
	writeFailing(w, s, now)
}

// writeWatched shows what the sources read now: a jail whose glob
// matches nothing says so.
func writeWatched(w io.Writer, s JailStatus) {
	files := len(s.Files) > 0
	for _, src := range s.Sources {
		files = files || strings.HasPrefix(src, "files:")
	}
	if files {
		list := "none (no readable file matches)"
		if len(s.Files) > 0 {
			list = strings.Join(s.Files, ", ")
		}
		fmt.Fprintf(w, "  file list:\t%s\n", list)
	}
	if len(s.Journal) > 0 {
		fmt.Fprintf(w, "  journal matches:\t%s\n", strings.Join(s.Journal, " + "))
	}
}

func writeBans(w io.Writer, bans []Banned, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, b := range bans {
		if b.Until.IsZero() {
			fmt.Fprintf(tw, "    %s\tno end\t\t%s%s\n", b.Host, enforcement(b), fleetMark(b))
			writeAddrs(tw, b)
			continue
		}
		left := "expiring"
		if d := b.Until.Sub(now); d >= time.Second {
			left = shortDuration(d) + " left"
		}
		fmt.Fprintf(tw, "    %s\t%s\tuntil %s\t%s%s\n", b.Host, left, b.Until.In(now.Location()).Format("2006-01-02 15:04:05 MST"), enforcement(b), fleetMark(b))
		writeAddrs(tw, b)
	}
	_ = tw.Flush()
}

// enforcement is a ban's state as the text shows it: a pending ban with
// its error, so that an operator sees at once what is not enforced.
func enforcement(b Banned) string {
	e := b.Enforcement
	if b.Enforcement == Pending {
		e = "PENDING"
	}
	if b.EscalatedFrom > 0 {
		e += fmt.Sprintf(" (widened from /%d)", b.EscalatedFrom)
	}
	if b.Enforcement == Pending && b.Error != "" {
		e += ": " + b.Error
	}
	return e
}

func pending(bans []Banned) int {
	n := 0
	for _, b := range bans {
		if b.Enforcement == Pending {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shortDuration prints 1h30m rather than 1h30m0s, days as 1d, and drops
// sub-second parts: an operator reads the order of magnitude.
func shortDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		sym  string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.sym)
			d -= n * u.unit
		}
	}
	return b.String()
}
