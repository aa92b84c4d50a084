package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/daemon"
	"github.com/peerjail/peerjail/internal/replay"
	"github.com/peerjail/peerjail/internal/report"
)

// hostArg reads an optional HOST argument; bad input is exit code 2.
func hostArg(a []string) (report.Host, error) {
	if len(a) == 0 {
		return report.Host{}, nil
	}
	h, err := report.ParseHost(a[0])
	if err != nil {
		return h, usageError{err}
	}
	return h, nil
}

// atMostHost checks for one optional HOST argument.
func atMostHost(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, a []string) error {
		if len(a) > 1 {
			return fmt.Errorf("expected at most one %s, got %d arguments", what, len(a))
		}
		return nil
	}
}

// sinceFlag reads --since as replay does.
func sinceFlag(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := replay.ParseTime(v, time.Now(), time.Local)
	if err != nil {
		return t, usageError{fmt.Errorf("--since %w", err)}
	}
	return t, nil
}

func newBannedCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "banned [HOST]",
		Short: "List the bans in force (with HOST: which jails ban it), with the time left",
		Long: "banned asks the daemon which jails ban HOST now: an address (also one inside a banned\n" +
			"prefix or CIDR, or one of a banned identity's addresses), a prefix or an identity.\n" +
			"Without HOST it lists every ban of every jail.",
		Args: args(atMostHost("HOST")),
		RunE: func(cmd *cobra.Command, a []string) error {
			h, err := hostArg(a)
			if err != nil {
				return err
			}
			st, err := client(cmd).Status(cmd.Context(), "")
			if err != nil {
				return err
			}
			bans := report.Banned(st, h)
			if asJSON {
				return report.WriteJSON(cmd.OutOrStdout(), bans)
			}
			return report.WriteBanned(cmd.OutOrStdout(), bans, h, time.Local)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: an array of {jail, host, until, remaining, enforcement}")
	return addSocketFlag(cmd)
}

func newHistoryCmd() *cobra.Command {
	var (
		state, since string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "history [HOST|ID]",
		Short: "Show past bans with their offence counts and evidence, from the audit trail and the state file",
		Long: "history reads the audit trail (audit.jsonl beside the state file) and, when no daemon\n" +
			"holds it, the state file's offender history; with a daemon running it reads the trail\n" +
			"alone, which the daemon appends to. It needs no daemon. --since takes " + replay.TimeForms + ".",
		Args: args(atMostHost("HOST or ID")),
		RunE: func(cmd *cobra.Command, a []string) error {
			_, h, err := gatherHistory(cmd, state, a, since)
			if err != nil {
				return err
			}
			if asJSON {
				return report.WriteJSON(cmd.OutOrStdout(), h.Entries)
			}
			return report.WriteHistory(cmd.OutOrStdout(), h, time.Now(), time.Local)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", daemon.DefaultStatePath, "state database (the audit trail is in its directory)")
	f.StringVar(&since, "since", "", "only what happened at or after this time")
	f.BoolVar(&asJSON, "json", false, "print JSON: an array of {jail, key, offences, last_ban, until, events}")
	return cmd
}

// gatherHistory reads what history and report show of the host in a (all
// hosts when a is empty) since the --since flag's time, and says on
// standard error what it could not include.
func gatherHistory(cmd *cobra.Command, state string, a []string, since string) (report.Options, report.History, error) {
	o := report.Options{StatePath: state}
	var err error
	if o.Host, err = hostArg(a); err != nil {
		return o, report.History{}, err
	}
	if o.Since, err = sinceFlag(since); err != nil {
		return o, report.History{}, err
	}
	h, err := report.Gather(o)
	if err != nil {
		return o, report.History{}, err
	}
	warnHistory(cmd, h)
	return o, h, nil
}

// warnHistory says on standard error what the output could not include.
func warnHistory(cmd *cobra.Command, h report.History) {
	if h.StoreLocked {
		fmt.Fprintln(cmd.ErrOrStderr(), "peerjail: note: a daemon holds the state file; offences and bans in force are the audit trail's")
	}
	if h.Skipped > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "peerjail: warning: %d lines of the audit trail could not be read and were skipped\n", h.Skipped)
	}
}

func newReportCmd() *cobra.Command {
	var (
		state, since, format string
		noRedact             bool
	)
	cmd := &cobra.Command{
		Use:   "report HOST|ID",
		Short: "Write an evidence bundle on a host to share: what was seen, evidence, decisions, policies",
		Long: "report gathers what peerjail recorded about HOST (as history does) into a bundle to\n" +
			"paste into a shared channel: counts per jail and window, the evidence lines with their\n" +
			"sources, the decisions, the peerjail version and each jail's policy. This host's own\n" +
			"addresses and name, and user names in sshd lines, are replaced by <self>, <hostname>\n" +
			"and <user> unless --no-redact.",
		Args: args(func(_ *cobra.Command, a []string) error {
			if len(a) != 1 {
				return fmt.Errorf("expected one HOST or ID to report on, got %d arguments", len(a))
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, a []string) error {
			if format != "md" && format != "json" {
				return usageError{fmt.Errorf("--format %q: expected md or json", format)}
			}
			o, h, err := gatherHistory(cmd, state, a, since)
			if err != nil {
				return err
			}
			bo := report.BundleOptions{Host: o.Host, Since: o.Since, Now: time.Now(), Version: versionLine()}
			if !noRedact {
				bo.Redact = selfRedactor()
			}
			b := report.NewBundle(h, bo)
			if format == "json" {
				return report.WriteJSON(cmd.OutOrStdout(), b)
			}
			return report.WriteMarkdown(cmd.OutOrStdout(), b)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", daemon.DefaultStatePath, "state database (the audit trail is in its directory)")
	f.StringVar(&since, "since", "", "only what happened at or after this time")
	f.StringVar(&format, "format", "md", "md (Markdown) or json")
	f.BoolVar(&noRedact, "no-redact", false, "keep this host's addresses and name and sshd's user names")
	return cmd
}

// selfRedactor redacts this host's interface addresses and its name.
func selfRedactor() *report.Redactor {
	var self []netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				self = append(self, p.Addr())
			}
		}
	}
	name, err := os.Hostname()
	if err != nil {
		name = ""
	}
	return report.NewRedactor(self, name)
}

var errUnbanArgs = errors.New("expected JAIL HOST, HOST (every jail), JAIL --all, or --all (every jail)")
