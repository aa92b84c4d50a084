package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/daemon"
)

func newRunCmd() *cobra.Command {
	var o struct {
		config, state, socket, metrics, logLevel string
	}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: follow the sources, ban with nftables",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.LevelVar // the log-level command changes it
			l, err := control.ParseLogLevel(o.logLevel)
			if err != nil {
				return usageError{fmt.Errorf("--log-level: %w", err)}
			}
			level.Set(l)
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: &level}))
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			// Only main touches signals: SIGHUP becomes a reload request.
			reload := make(chan struct{}, 1)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			done := make(chan struct{})
			var relay sync.WaitGroup
			relay.Go(func() {
				for {
					select {
					case <-hup:
						select {
						case reload <- struct{}{}:
						default:
						}
					case <-done:
						return
					}
				}
			})
			defer func() {
				signal.Stop(hup)
				close(done)
				relay.Wait()
			}()
			return daemon.Run(cmd.Context(), daemon.Options{
				ConfigPath: o.config, StatePath: o.state, SocketPath: o.socket,
				Logger: log, LogLevel: &level, Registry: reg, MetricsAddr: o.metrics, Reload: reload,
				Constructors: actionConstructors(), Version: actionVersion(),
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", defaultConfig, "configuration file")
	f.StringVar(&o.state, "state", daemon.DefaultStatePath, "state database")
	f.StringVar(&o.socket, "socket", daemon.DefaultSocketPath, "control socket")
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9742)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// client returns the control client for the --socket flag of cmd.
func client(cmd *cobra.Command) control.Client {
	path, _ := cmd.Flags().GetString("socket")
	return control.Client{Path: path, Timeout: 30 * time.Second}
}

func addSocketFlag(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().String("socket", daemon.DefaultSocketPath, "control socket of the daemon")
	return cmd
}

func newBanCmd() *cobra.Command {
	var (
		length string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "ban JAIL HOST",
		Short: "Ban a host in a jail: an address as logs write it, a CIDR prefix, or an identity",
		Long: "HOST is what a filter's <HOST> reads in a log (203.0.113.7, 203.0.113.7:4001,\n" +
			"[2001:db8::1]:4001, /ip4/203.0.113.7/tcp/4001, ::ffff:203.0.113.7), a CIDR prefix\n" +
			"(198.51.100.0/24), or, in a jail whose filter yields identities (<ID>), an identity.\n" +
			"An address the jail never bans (ignoreip, this host's own, loopback) needs --force.",
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			var dur time.Duration
			if cmd.Flags().Changed("for") {
				d, err := config.ParseDuration(length)
				if err != nil {
					if strings.HasPrefix(length, "-") || strings.Trim(length, "0") == "" {
						return usageError{fmt.Errorf("--for %q: a ban lasts a positive duration (e.g. 90s, 2h, 1d)", length)}
					}
					return usageError{fmt.Errorf("--for: %w", err)}
				}
				dur = d
			}
			r, err := client(cmd).Ban(cmd.Context(), a[0], a[1], dur, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "banned %s in %s for %s (until %s)\n", r.Host, r.Jail,
				time.Duration(r.Duration), r.Until.Local().Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().StringVar(&length, "for", "", "ban length, as in the configuration: 90s, 10m, 1h30m, 1d, 1w (default: the jail's bantime, grown for repeat offenders)")
	cmd.Flags().BoolVar(&force, "force", false, "ban even an address the jail never bans (ignoreip, own addresses, loopback)")
	return addSocketFlag(cmd)
}

func newUnbanCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unban JAIL HOST | unban HOST | unban [JAIL] --all",
		Short: "Lift a ban in a jail or in every jail, or every ban of a jail or of every jail",
		Args: args(func(cmd *cobra.Command, a []string) error {
			all, _ := cmd.Flags().GetBool("all")
			if all && len(a) <= 1 || !all && (len(a) == 1 || len(a) == 2) {
				return nil
			}
			return errUnbanArgs
		}),
		RunE: func(cmd *cobra.Command, a []string) error {
			var jail, host string
			switch {
			case len(a) == 2:
				jail, host = a[0], a[1]
			case all && len(a) == 1:
				jail = a[0]
			case len(a) == 1:
				host = a[0]
			}
			n, err := client(cmd).Unban(cmd.Context(), jail, host, all)
			if err != nil {
				return err
			}
			where := "in " + jail
			if jail == "" {
				where = "in every jail"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d ban(s) lifted %s\n", n, where)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "lift every ban of the jail (without JAIL: of every jail)")
	return addSocketFlag(cmd)
}

func newReloadCmd() *cobra.Command {
	return addSocketFlag(&cobra.Command{
		Use:   "reload",
		Short: "Reload the configuration (an invalid one keeps the running one)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := client(cmd).Reload(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "reloaded")
			return nil
		},
	})
}

func newFlushCmd() *cobra.Command {
	var o daemon.FlushOptions
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Remove peerjail's nftables table (every ban); no other table is touched",
		Long: "Flush removes table inet peerjail. It refuses while a daemon runs (its status would\n" +
			"list bans the kernel no longer holds): stop it first, or lift bans with\n" +
			"`peerjail unban JAIL --all`; --force flushes anyway.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := daemon.Flush(cmd.Context(), o); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "table inet peerjail removed")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.StatePath, "state", daemon.DefaultStatePath, "state database of the daemon to check for")
	f.StringVar(&o.SocketPath, "socket", daemon.DefaultSocketPath, "control socket of the daemon to check for")
	f.BoolVar(&o.Force, "force", false, "flush even while a daemon runs")
	return cmd
}
