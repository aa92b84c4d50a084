package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/replay"
	"github.com/peerjail/peerjail/internal/source"
	"github.com/peerjail/peerjail/internal/trial"
)

const defaultConfig = "/etc/peerjail/peerjail.yaml"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "peerjail",
		Short:         "Ban misbehaving peers found in logs, with nftables",
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return startProfile(cpuProfile) }
	root.PersistentPostRun = func(*cobra.Command, []string) { pprof.StopCPUProfile() }
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newCheckCmd(), newReplayCmd(), newTestFilterCmd(), newFiltersCmd(),
		newRunCmd(), newStatusCmd(), newBanCmd(), newUnbanCmd(), newReloadCmd(), newFlushCmd(),
		newVersionCmd(), newGenManCmd())
	return root
}

// args wraps a cobra argument check so that its error means exit code 2.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// startProfile is for measuring peerjail itself (make bench, bug reports).
func startProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return pprof.StartCPUProfile(f)
}

func newCheckCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print a summary of each included file and each jail",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path, config.LoadOptions{})
			if err != nil {
				return err
			}
			for _, line := range append(c.IncludeSummary(), c.Summary()...) {
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			warnSources(cmd.ErrOrStderr(), c, source.CheckJournal)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	return cmd
}

// warnSources says which jails would watch nothing if started now: a
// valid configuration, but not what the operator meant.
func warnSources(w io.Writer, c *config.Config, checkJournal func() error) {
	var journalErr error
	checked := false
	for _, j := range c.Jails {
		for _, g := range source.UnmatchedGlobs(j.Files) {
			fmt.Fprintf(w, "peerjail: warning: jail %q: files: %s matches no file; the jail reads it once a file appears\n", j.Name, g)
		}
		if len(j.Journal) == 0 {
			continue
		}
		if !checked {
			journalErr, checked = checkJournal(), true
		}
		if journalErr != nil {
			fmt.Fprintf(w, "peerjail: warning: jail %q: journal %s: %v\n", j.Name, strings.Join(j.Journal, "+"), journalErr)
		}
	}
}

func newReplayCmd() *cobra.Command {
	var (
		path, only string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "replay [flags] LOG...",
		Short: "Run old logs through the jails and report the bans that would have happened",
		Long: "Replay reads the logs (- is standard input, .gz is read transparently) by their own\n" +
			"time through the configured jails and reports every ban and unban. It never touches\n" +
			"the firewall. Sources in the configuration are not needed and not used.",
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, logs []string) error {
			c, err := config.Load(path, config.LoadOptions{SourcesOptional: true})
			if err != nil {
				return err
			}
			return replay.Run(cmd.Context(), replay.Options{
				Config: c, Jail: only, Logs: logs, JSON: asJSON,
				Out: cmd.OutOrStdout(), Progress: os.Stderr, Warn: os.Stderr,
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	cmd.Flags().StringVar(&only, "jail", "", "replay only this jail")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON Lines (one event per line)")
	return cmd
}

func newTestFilterCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test-filter FILTER LOG",
		Short: "Try a filter (a stock name or a YAML file with one filter) on a log",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			spec, err := loadFilter(a[0])
			if err != nil {
				return err
			}
			_, err = trial.Run(cmd.Context(), trial.Options{
				Spec: spec, Log: a[1], JSON: asJSON, Out: cmd.OutOrStdout(),
			})
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per matched line, then a summary")
	return cmd
}

// loadFilter takes a stock filter's name, or failing that a file path.
func loadFilter(name string) (filter.Spec, error) {
	stock, err := config.StockFilters()
	if err != nil {
		return filter.Spec{}, err
	}
	if s, ok := stock[name]; ok {
		return s, nil
	}
	if _, err := os.Stat(name); err != nil {
		return filter.Spec{}, usageError{fmt.Errorf("%q is neither a stock filter (%s) nor a readable file: %w",
			name, strings.Join(sortedKeys(stock), ", "), err)}
	}
	return config.ParseFilterFile(name)
}

func newFiltersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "filters",
		Short: "List the stock filters with their patterns",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			stock, err := config.StockFilters()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, name := range sortedKeys(stock) {
				s := stock[name]
				fmt.Fprintf(w, "%s\n  %s\n", name, s.Description)
				for _, p := range describe(s) {
					fmt.Fprintf(w, "    %s\n", p)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}

// describe renders a filter's rules one per line, as written (placeholders
// not expanded: that is what an operator edits).
func describe(s filter.Spec) []string {
	if s.Regex != nil {
		out := make([]string, 0, len(s.Regex.Fail)+len(s.Regex.Ignore))
		for _, p := range s.Regex.Fail {
			out = append(out, "fail: "+p)
		}
		for _, p := range s.Regex.Ignore {
			out = append(out, "ignore: "+p)
		}
		return out
	}
	if s.JSON == nil {
		return nil
	}
	var conds []string
	for _, c := range s.JSON.Match {
		conds = append(conds, c.String())
	}
	line := "json: " + strings.Join(conds, " and ")
	if s.JSON.Host != "" {
		line += "; host from " + s.JSON.Host
	} else {
		line += "; id from " + s.JSON.ID
	}
	if s.JSON.Prefix != "" {
		line += "; prefix " + s.JSON.Prefix
	}
	return []string{line}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
