package report

import (
	"io"
	"text/tabwriter"
	"time"

	"github.com/peerjail/peerjail/internal/control"
)

// BannedIn is one ban in force, for `peerjail banned`.
type BannedIn struct {
	Jail string `json:"jail"`
	control.Banned
}

// Banned lists the bans in force in st that h selects, jail by jail in the
// daemon's order: fail2ban's `banned` and `banned IP`.
func Banned(st []control.JailStatus, h Host) []BannedIn {
	out := []BannedIn{}
	for _, js := range st {
		for _, b := range js.Banned {
			if h.Matches(b.Host, b.Addrs) {
				out = append(out, BannedIn{Jail: js.Name, Banned: b})
			}
		}
	}
	return out
}

// WriteBanned writes one line per ban: jail, key, end in loc, time left
// as the daemon counted it, and whether it is enforced.
func WriteBanned(w io.Writer, bans []BannedIn, h Host, loc *time.Location) error {
	if len(bans) == 0 {
		what := "no host is banned"
		if !h.IsZero() {
			what = h.String() + " is not banned in any jail"
		}
		_, err := io.WriteString(w, what+"\n")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	bw := &errWriter{w: tw}
	for _, b := range bans {
		state := b.Enforcement
		if b.Error != "" {
			state += " (" + b.Error + ")"
		}
		bw.printf("%s\t%s\tuntil %s\t%s left\t%s\n", b.Jail, printable(b.Host), b.Until.In(loc).Format(time.DateTime), time.Duration(b.Remaining), state)
	}
	if bw.err != nil {
		return bw.err
	}
	return tw.Flush()
}
