package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/audit"
)

// WriteHistory writes `peerjail history`: per jail and key the offences,
// the ban in force, then each event with its evidence. Times are shown in
// loc; time left is counted from now.
func WriteHistory(w io.Writer, h History, now time.Time, loc *time.Location) error {
	bw := &errWriter{w: w}
	if len(h.Entries) == 0 {
		bw.printf("no bans recorded\n")
	}
	for i, e := range h.Entries {
		if i > 0 {
			bw.printf("\n")
		}
		bw.printf("%s %s: %d %s", e.Jail, e.Key, e.Offences, plural(e.Offences, "offence", "offences"))
		if !e.LastBan.IsZero() {
			bw.printf(", last ban %s", e.LastBan.In(loc).Format(time.DateTime))
		}
		if e.Until.After(now) {
			bw.printf("; banned until %s (%s left)", e.Until.In(loc).Format(time.DateTime), e.Until.Sub(now).Round(time.Second))
		}
		bw.printf("\n")
		for _, r := range e.Events {
			bw.printf("  %s  %s\n", r.Time.In(loc).Format(time.DateTime), eventText(r))
			for _, line := range r.Evidence {
				bw.printf("      %s\n", printable(line))
			}
		}
	}
	return bw.err
}

func eventText(r audit.Record) string {
	var b strings.Builder
	b.WriteString(r.Event)
	if r.By != "" {
		fmt.Fprintf(&b, " by %s", r.By)
	}
	if r.UID != nil {
		fmt.Fprintf(&b, " (uid %d)", *r.UID)
	}
	if r.Event != audit.EventUnban && !r.Until.IsZero() {
		fmt.Fprintf(&b, " for %s", r.Until.Sub(r.At).Round(time.Second))
	}
	if r.Hits > 0 {
		fmt.Fprintf(&b, ", %d hits", r.Hits)
	}
	if r.Offences > 0 {
		fmt.Fprintf(&b, ", offence %d", r.Offences)
	}
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "; %s %s", a.Action, outcome(a))
	}
	return b.String()
}

// outcome says what an action made of a decision: ok, failed with why, or
// queued (its answer is a later record of event "action").
func outcome(a audit.Result) string {
	switch {
	case a.OK:
		return "ok"
	case a.Queued:
		return "queued"
	}
	return "failed: " + a.Error
}

// WriteJSON writes v as indented JSON, the form of --json and --format json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteMarkdown writes the bundle as Markdown to paste into a shared
// channel. Evidence lines are indented code, which no text in a line can
// end, and table cells have their pipes escaped.
func WriteMarkdown(w io.Writer, b Bundle) error {
	bw := &errWriter{w: w}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	bw.printf("# peerjail evidence report: %s\n\n", cell(b.Host))
	bw.printf("Generated %s by %s.", ts(b.Generated), b.Version)
	if !b.Since.IsZero() {
		bw.printf(" Since %s.", ts(b.Since))
	}
	if b.Redacted {
		bw.printf(" Redacted: this host's addresses (%s), its name (%s) and user names in sshd lines (%s).", SelfMark, HostnameMark, UserMark)
	} else {
		bw.printf(" Not redacted.")
	}
	bw.printf("\n\n## What was seen\n\n")
	if len(b.Seen) == 0 {
		bw.printf("No bans of this host were recorded.\n")
	} else {
		bw.printf("| jail | filter | window | bans | offences | hits at the bans | first | last |\n|---|---|---|---|---|---|---|---|\n")
		for _, s := range b.Seen {
			bw.printf("| %s | %s | %s | %d | %d | %d | %s | %s |\n", cell(s.Jail), cell(s.Filter), s.Window, s.Bans, s.Offences, s.Hits, ts(s.First), ts(s.Last))
		}
	}
	bw.printf("\n## Decisions\n\n")
	if len(b.Decisions) > 0 {
		bw.printf("| time | jail | event | by | key | until | offences | actions |\n|---|---|---|---|---|---|---|---|\n")
		for _, d := range b.Decisions {
			var acts []string
			for _, a := range d.Actions {
				acts = append(acts, a.Action+" "+outcome(a))
			}
			off := ""
			if d.Offences > 0 {
				off = fmt.Sprint(d.Offences)
			}
			bw.printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", ts(d.Time), cell(d.Jail), d.Event, d.By, cell(d.Key), ts(d.Until), off, cell(strings.Join(acts, ", ")))
		}
	} else {
		bw.printf("None.\n")
	}
	bw.printf("\n## Evidence\n")
	var last string
	for _, e := range b.Evidence {
		head := fmt.Sprintf("%s, ban at %s (read from %s)", e.Jail, ts(e.Ban), strings.Join(e.Sources, ", "))
		if head != last {
			bw.printf("\n%s:\n\n", cell(head))
			last = head
		}
		bw.printf("    %s\n", printable(e.Line))
	}
	if len(b.Evidence) == 0 {
		bw.printf("\nNone recorded.\n")
	}
	bw.printf("\n## Policies\n\n")
	if len(b.Policies) > 0 {
		bw.printf("| jail | filter | findtime | maxretry | bantime |\n|---|---|---|---|---|\n")
		for _, p := range b.Policies {
			bw.printf("| %s | %s | %s | %d | %s |\n", cell(p.Jail), cell(p.Filter), p.FindTime, p.MaxRetry, p.BanTime)
		}
	} else {
		bw.printf("None recorded.\n")
	}
	return bw.err
}

// cell keeps text on one line and inside its table cell.
func cell(s string) string {
	return strings.ReplaceAll(printable(s), "|", `\|`)
}

// printable shows control characters of a log line (a terminal's escape
// sequences, a carriage return) as \xNN rather than passing them on.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, `\x%02x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errWriter keeps the first write error, so rendering reads straight.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
