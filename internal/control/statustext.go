package control

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary writes `peerjail status` without a jail: one line per jail,
// what an operator scans first; `status JAIL` has the rest.
func WriteSummary(w io.Writer, st []JailStatus) {
	if len(st) == 0 {
		fmt.Fprintln(w, "no jails")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JAIL\tFILTER\tFAILING\tBANNED\tPENDING\tTOTAL BANNED\tACTIONS")
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.Filter, s.Failing, len(s.Banned), pending(s.Banned), s.TotalBanned, actionsLine(s)+fleetNote(s))
	}
	_ = tw.Flush()
}

// actionsLine is the state of a jail's actions in a few words: each
// action's name, with FAILING or its queue when it is behind.
func actionsLine(s JailStatus) string {
	if len(s.Actions) == 0 {
		return s.Action
	}
	parts := make([]string, len(s.Actions))
	for i, a := range s.Actions {
		parts[i] = a.Name
		switch {
		case a.Failing:
			parts[i] += " FAILING"
		case a.Queued > 0:
			parts[i] += fmt.Sprintf(" (%d queued)", a.Queued)
		}
	}
	return strings.Join(parts, ", ")
}

// writeActions lists a jail's actions in the full view.
func writeActions(w io.Writer, as []ActionStatus, now time.Time) {
	if len(as) == 0 {
		return
	}
	fmt.Fprintln(w, "  actions:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	for _, a := range as {
		state := fmt.Sprintf("holds %d", a.Held)
		if a.Queued > 0 {
			state += fmt.Sprintf(", %d queued", a.Queued)
		}
		if a.Dropped > 0 {
			state += fmt.Sprintf(", %d dropped", a.Dropped)
		}
		if a.Failing {
			state += "; FAILING"
			if !a.Since.IsZero() {
				state += " since " + a.Since.In(now.Location()).Format("2006-01-02 15:04:05 MST")
			}
			if a.Error != "" {
				state += ": " + a.Error
			}
		}
		fmt.Fprintf(tw, "    %s\t%s\n", a.Name, state)
	}
}

// writeAddrs lists the addresses banned with an identity, under its ban.
func writeAddrs(w io.Writer, b Banned) {
	if len(b.Addrs) > 0 {
		fmt.Fprintf(w, "      at %s\n", strings.Join(b.Addrs, ", "))
	}
}

// writeFailing lists the failing hosts the status was asked for.
func writeFailing(w io.Writer, s JailStatus, now time.Time) {
	if len(s.FailingHosts) == 0 {
		return
	}
	fmt.Fprintf(w, "  failing hosts (top %d of %d, by hits in %s):\n", len(s.FailingHosts), s.Failing,
		shortDuration(time.Duration(s.FindTime)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range s.FailingHosts {
		ago := "just now"
		if d := now.Sub(f.Last); d >= time.Second {
			ago = shortDuration(d) + " ago"
		}
		fmt.Fprintf(tw, "    %s\t%d %s\tlast %s (%s)\n", f.Host, f.Hits, plural(f.Hits, "hit", "hits"),
			f.Last.In(now.Location()).Format("2006-01-02 15:04:05 MST"), ago)
	}
	_ = tw.Flush()
}
