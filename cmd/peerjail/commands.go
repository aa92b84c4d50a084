package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

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
		newVersionCmd(), newGenManCmd(), newBannedCmd(), newHistoryCmd(), newReportCmd(),
		newConfigCmd(), newLogLevelCmd(), newFleetCmd())
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
			lines := append(c.IncludeSummary(), c.Summary()...)
			if f := c.FleetSummary(); f != "" {
				lines = append(lines, f)
			}
			for _, line := range lines {
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
		path, only, since, until, journalDir string
		journalFiles                         []string
		asJSON, journal                      bool
	)
	cmd := &cobra.Command{
		Use:   "replay [flags] LOG... | --journal | --since T",
		Short: "Run old logs through the jails and report the bans that would have happened",
		Long: "Replay reads the logs (- is standard input, .gz is read transparently) by their own\n" +
			"time through the configured jails and reports every ban and unban. Several logs are\n" +
			"merged by the time of each line. It never touches the firewall.\n\n" +
			"With --journal (or --journal-dir, --journal-file) it replays each jail's journal\n" +
			"matches instead; with no LOG and --since or --until, every configured source: the\n" +
			"jails' files with their rotated siblings (.1, .2.gz, -20261201) and their journal\n" +
			"matches. --since and --until take " + replay.TimeForms + ".",
		Args: args(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, logs []string) error {
			journal = journal || journalDir != "" || len(journalFiles) > 0
			o := replay.Options{
				Jail: only, Logs: logs, JSON: asJSON, JournalDir: journalDir, JournalFiles: journalFiles,
				Out: cmd.OutOrStdout(), Progress: os.Stderr, Warn: cmd.ErrOrStderr(),
			}
			if err := replayWindow(&o, since, until); err != nil {
				return err
			}
			switch {
			case journalDir != "" && len(journalFiles) > 0:
				return usageError{errors.New("--journal-dir and --journal-file: expected one of them")}
			case journal && len(logs) > 0:
				return usageError{errors.New("expected LOG... or --journal, not both")}
			case journal:
				o.ConfiguredJournal = true
			case len(logs) == 0 && o.Since.IsZero() && o.Until.IsZero():
				return usageError{errors.New("expected LOG... to replay, --journal for the jails' journal matches, " +
					"or --since T for every configured source")}
			case len(logs) == 0:
				o.ConfiguredFiles, o.ConfiguredJournal = true, true
			}
			c, err := config.Load(path, config.LoadOptions{SourcesOptional: true})
			if err != nil {
				return err
			}
			o.Config = c
			err = replay.Run(cmd.Context(), o)
			if errors.Is(err, replay.ErrNoSource) {
				return usageError{err}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	cmd.Flags().StringVar(&only, "jail", "", "replay only this jail")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON Lines (one event per line)")
	cmd.Flags().BoolVar(&journal, "journal", false, "replay each jail's journal matches from the local journal")
	cmd.Flags().StringVar(&journalDir, "journal-dir", "", "replay the journal files in this directory (implies --journal)")
	cmd.Flags().StringArrayVar(&journalFiles, "journal-file", nil, "replay this journal file; repeatable (implies --journal)")
	cmd.Flags().StringVar(&since, "since", "", "replay only lines stamped at or after this time")
	cmd.Flags().StringVar(&until, "until", "", "replay only lines stamped at or before this time")
	return cmd
}

// replayWindow reads --since and --until into o.
func replayWindow(o *replay.Options, since, until string) error {
	now := time.Now()
	for _, f := range []struct {
		flag, v string
		t       *time.Time
	}{{"--since", since, &o.Since}, {"--until", until, &o.Until}} {
		if f.v == "" {
			continue
		}
		t, err := replay.ParseTime(f.v, now, time.Local)
		if err != nil {
			return usageError{fmt.Errorf("%s %w", f.flag, err)}
		}
		*f.t = t
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && o.Until.Before(o.Since) {
		return usageError{fmt.Errorf("--until %s is before --since %s: expected since <= until",
			o.Until.Format(time.RFC3339), o.Since.Format(time.RFC3339))}
	}
	return nil
}

func newTestFilterCmd() *cobra.Command {
	var (
		asJSON            bool
		cfgPath, line     string
		regexes, ignoreRe []string
	)
	cmd := &cobra.Command{
		Use: "test-filter [flags] FILTER LOG\n  test-filter -c CONFIG NAME LOG\n" +
			"  test-filter --regex RE [--ignore-regex RE] LOG\n  test-filter ... --line TEXT",
		Short: "Try a filter (a stock name, a filter file, one of a config, or a regex) on a log or a line",
		Long: "test-filter runs one filter over a log and reports what each pattern matched, like\n" +
			"fail2ban-regex. The filter is FILTER (a stock name or a YAML file with one filter),\n" +
			"NAME with -c (a filter of the config, or a jail: its filter as the jail uses it), or\n" +
			"the --regex patterns (with <HOST>; repeatable) and --ignore-regex ones. --line TEXT\n" +
			"tries one line in place of LOG.",
		Args: args(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, a []string) error {
			useRegex, useLine := len(regexes) > 0, cmd.Flags().Changed("line")
			if err := checkTestFilterArgs(a, cfgPath, useRegex, useLine, len(ignoreRe) > 0); err != nil {
				return err
			}
			var spec filter.Spec
			var err error
			switch {
			case useRegex:
				spec = filter.Spec{Name: "--regex", Regex: &filter.RegexSpec{Fail: regexes, Ignore: ignoreRe}}
				if _, err := filter.New(spec); err != nil {
					return usageError{fmt.Errorf("--regex: %w", err)}
				}
			case cfgPath != "":
				spec, err = configFilter(cfgPath, a[0])
				a = a[1:]
			default:
				spec, err = loadFilter(a[0])
				a = a[1:]
			}
			if err != nil {
				return err
			}
			o := trial.Options{Spec: spec, JSON: asJSON, Out: cmd.OutOrStdout()}
			if useLine {
				o.Log, o.Input = "--line", strings.NewReader(line)
			} else {
				o.Log = a[0]
			}
			_, err = trial.Run(cmd.Context(), o)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per matched line, then a summary")
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "take the filter NAME from this configuration (a filter, or a jail's)")
	cmd.Flags().StringArrayVar(&regexes, "regex", nil, "a failure pattern with <HOST> (repeatable), in place of FILTER")
	cmd.Flags().StringArrayVar(&ignoreRe, "ignore-regex", nil, "an ignore pattern for --regex (repeatable)")
	cmd.Flags().StringVar(&line, "line", "", "try this one line in place of LOG")
	return cmd
}

// checkTestFilterArgs says what test-filter expected when the flags and
// arguments do not fit together.
func checkTestFilterArgs(a []string, cfgPath string, useRegex, useLine, useIgnore bool) error {
	switch {
	case useIgnore && !useRegex:
		return usageError{errors.New("--ignore-regex goes with --regex: expected --regex RE [--ignore-regex RE]")}
	case useRegex && cfgPath != "":
		return usageError{errors.New("--regex and -c both name the filter: expected one of them")}
	}
	var want []string
	switch {
	case cfgPath != "":
		want = append(want, "NAME (a filter or a jail of "+cfgPath+")")
	case !useRegex:
		want = append(want, "FILTER (a stock name or a filter file)")
	}
	if !useLine {
		want = append(want, "LOG")
	}
	if len(a) == len(want) {
		return nil
	}
	exp := "no argument"
	if len(want) > 0 {
		exp = strings.Join(want, " then ")
	}
	var how []string
	if useRegex {
		how = append(how, "the filter is --regex")
	}
	if useLine {
		how = append(how, "the input is --line")
	}
	if len(how) > 0 {
		exp += " (" + strings.Join(how, ", ") + ")"
	}
	return usageError{fmt.Errorf("expected %s, got %d argument(s)", exp, len(a))}
}

// configFilter takes the filter of a config by its name, or a jail's
// filter as that jail runs it (mode and all), or failing both a stock one.
func configFilter(path, name string) (filter.Spec, error) {
	c, err := config.Load(path, config.LoadOptions{SourcesOptional: true})
	if err != nil {
		return filter.Spec{}, err
	}
	if s, ok := c.Filters[name]; ok {
		return s, nil
	}
	var jails []string
	for _, j := range c.Jails {
		if j.Name == name {
			return j.Filter, nil
		}
		jails = append(jails, j.Name)
	}
	stock, err := config.StockFilters()
	if err != nil {
		return filter.Spec{}, err
	}
	if s, ok := stock[name]; ok {
		return s, nil
	}
	sort.Strings(jails)
	list := func(names []string) string {
		if len(names) == 0 {
			return "none"
		}
		return strings.Join(names, ", ")
	}
	return filter.Spec{}, usageError{fmt.Errorf("%q is no filter of %s (filters: %s; jails: %s) and no stock filter",
		name, path, list(sortedKeys(c.Filters)), list(jails))}
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
