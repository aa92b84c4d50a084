package fleet

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is what `peerjail fleet status` shows.
type Status struct {
	Reporter string `json:"reporter"`
	Stream   string `json:"stream"`
	Subject  string `json:"subject"`
	// Connected is whether the NATS connection is up, to Server; when it
	// is not, local bans go on and reports wait in the outbox.
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Outbox is how many reports wait for the stream's acknowledgement;
	// Published and Dropped count since start.
	Outbox    int   `json:"outbox"`
	Published int64 `json:"published"`
	Dropped   int64 `json:"dropped"`
	// Consumer is this host's durable consumer; Lag is how many reports
	// the stream holds that it has not yet been given, AckPending those
	// given and not yet counted. LagKnown is false while the consumer or
	// the server is away.
	Consumer   string `json:"consumer"`
	LagKnown   bool   `json:"lag_known"`
	Lag        uint64 `json:"lag"`
	AckPending int    `json:"ack_pending"`
	// Reporters are those whose reports this host has read, by name.
	Reporters []ReporterStatus `json:"reporters"`
	Jails     []JailQuorum     `json:"jails"`
}

// ReporterStatus is one reporter seen on the stream. Reports counts
// deliveries since start: a report delivered again (its acknowledgement
// lost with a server) counts again.
type ReporterStatus struct {
	Reporter string    `json:"reporter"`
	Reports  int64     `json:"reports"`
	Last     time.Time `json:"last"` // the stream's stamp of its latest report
}

// Status reads the fleet's state; the consumer's lag needs the server,
// which it asks within ctx.
func (f *Fleet) Status(ctx context.Context) Status {
	f.mu.Lock()
	st := Status{
		Reporter: f.reporter, Stream: f.cfg.Stream, Subject: f.cfg.Subject,
		Connected: f.url != "", Server: f.url, LastError: f.lastErr,
		Consumer:  ConsumerName(f.reporter),
		Reporters: []ReporterStatus{},
		Jails:     f.table.jails(),
	}
	for _, name := range slices.Sorted(maps.Keys(f.reporters)) {
		st.Reporters = append(st.Reporters, *f.reporters[name])
	}
	cons := f.cons
	f.mu.Unlock()
	st.Outbox = f.opts.Outbox.Len()
	st.Published = int64(counterValue(f.m.published))
	st.Dropped = int64(counterValue(f.m.dropped))
	if cons.c != nil && st.Connected {
		if info, err := cons.c.Info(ctx); err == nil {
			st.LagKnown, st.Lag, st.AckPending = true, info.NumPending, info.NumAckPending
		}
	}
	return st
}

// WriteText renders st for a terminal.
func (st Status) WriteText(w io.Writer) error {
	var b strings.Builder
	conn := "no (bans go on locally; reports are queued)"
	if st.Connected {
		conn = "yes, " + st.Server
	}
	fmt.Fprintf(&b, "reporter:   %s\nstream:     %s (subject %s.%s.<jail>)\nconnected:  %s\n",
		st.Reporter, st.Stream, st.Subject, st.Reporter, conn)
	if st.LastError != "" {
		fmt.Fprintf(&b, "last error: %s\n", st.LastError)
	}
	fmt.Fprintf(&b, "outbox:     %d waiting, %d published, %d dropped\n", st.Outbox, st.Published, st.Dropped)
	lag := "unknown"
	if st.LagKnown {
		lag = fmt.Sprintf("%d reports behind, %d being counted", st.Lag, st.AckPending)
	}
	fmt.Fprintf(&b, "consumer:   %s, %s\n", st.Consumer, lag)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(st.Reporters) == 0 {
		fmt.Fprintf(tw, "\nno reports read yet\n")
	} else {
		fmt.Fprintf(tw, "\nREPORTER\tREPORTS\tLAST\n")
	}
	for _, r := range st.Reporters {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Reporter, r.Reports, r.Last.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "\nJAIL\tQUORUM\tPENDING (keys with 1, 2, … reporters)\tWAITING\tBANNED\n")
	for _, j := range st.Jails {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\n", j.Jail, j.Quorum, pendingText(j.Pending), j.Waiting, j.Banned)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pendingText(p []int) string {
	if len(p) == 0 {
		return "-"
	}
	parts := make([]string, len(p))
	for i, n := range p {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, " ")
}

// Connected reports whether the NATS connection is up, without asking the
// server anything: what a jail's status shows.
func (f *Fleet) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.url != ""
}
