package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
)

// defaultTop is how many failing hosts `status JAIL` lists.
const defaultTop = 10

func newStatusCmd() *cobra.Command {
	var (
		asJSON bool
		top    int
	)
	cmd := &cobra.Command{
		Use:   "status [JAIL]",
		Short: "Show failing and banned hosts: one line per jail, or one jail in full",
		Long: "Without JAIL, one line per jail: failing hosts, bans (those not enforced yet), total bans, the state of its actions.\n" +
			"With JAIL, the jail in full: its sources and policy, every ban with its time left and enforcement, its actions,\n" +
			"and its failing hosts with the most hits (--top).",
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := ""
			if len(a) == 1 {
				name = a[0]
			}
			if top < 0 || top > control.MaxTop {
				return usageError{fmt.Errorf("--top %d: want a number of hosts from 0 to %d", top, control.MaxTop)}
			}
			if name == "" && cmd.Flags().Changed("top") {
				return usageError{fmt.Errorf("--top lists one jail's failing hosts: name the jail (status JAIL --top %d)", top)}
			}
			if name == "" {
				top = 0
			}
			st, err := client(cmd).StatusTop(cmd.Context(), name, top)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case asJSON:
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			case name == "":
				control.WriteSummary(out, st)
			default:
				control.WriteStatus(out, st, time.Now())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&top, "top", defaultTop, "with JAIL: list this many failing hosts, most hits first (0: none)")
	return addSocketFlag(cmd)
}

func newConfigCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the configuration as loaded, with every default applied",
		Long: "Print the configuration as peerjail loads it: every enabled jail with each setting spelt out, the defaults\n" +
			"applied, relative globs made absolute and the included files' jails in place, in the configuration's own\n" +
			"syntax (it loads to the same configuration). Stock filters are named, with their description.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(path, config.LoadOptions{})
			if err != nil {
				return err
			}
			return c.WriteYAML(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	return cmd
}

func newLogLevelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:       "log-level [" + strings.Join(control.LogLevels, "|") + "]",
		Short:     "Show or change the running daemon's log level",
		Long:      "Without an argument, print the daemon's log level; with one, set it (until the daemon restarts) and print it.",
		Args:      args(cobra.MaximumNArgs(1)),
		ValidArgs: control.LogLevels,
		RunE: func(cmd *cobra.Command, a []string) error {
			level := ""
			if len(a) == 1 {
				if _, err := control.ParseLogLevel(a[0]); err != nil {
					return usageError{err}
				}
				level = a[0]
			}
			got, err := client(cmd).LogLevel(cmd.Context(), level)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), got)
			return err
		},
	}
	return addSocketFlag(cmd)
}
