package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/daemon"
	"github.com/peerjail/peerjail/internal/firewall"
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
			var level slog.Level
			if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level: %w", err)}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			if o.metrics != "" {
				go serveMetrics(o.metrics, reg, log)
			}
			// Only main touches signals: SIGHUP becomes a reload request.
			reload := make(chan struct{}, 1)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default:
					}
				}
			}()
			return daemon.Run(cmd.Context(), daemon.Options{
				ConfigPath: o.config, StatePath: o.state, SocketPath: o.socket,
				Logger: log, Registry: reg, Reload: reload,
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

func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("metrics server", "err", err)
	}
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

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [JAIL]",
		Short: "Show failing and banned hosts per jail",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := ""
			if len(a) == 1 {
				name = a[0]
			}
			st, err := client(cmd).Status(cmd.Context(), name)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			control.WriteStatus(cmd.OutOrStdout(), st, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return addSocketFlag(cmd)
}

func newBanCmd() *cobra.Command {
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "ban JAIL HOST",
		Short: "Ban a host (address, IPv6 prefix or identity) in a jail",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			r, err := client(cmd).Ban(cmd.Context(), a[0], a[1], dur)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "banned %s in %s for %s (until %s)\n", r.Host, r.Jail,
				time.Duration(r.Duration), r.Until.Local().Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().DurationVar(&dur, "for", 0, "ban length (default: the jail's bantime, grown for repeat offenders)")
	return addSocketFlag(cmd)
}

func newUnbanCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unban JAIL HOST | unban JAIL --all",
		Short: "Lift a ban, or every ban of a jail",
		Args: args(func(cmd *cobra.Command, a []string) error {
			all, _ := cmd.Flags().GetBool("all")
			if all && len(a) == 1 || !all && len(a) == 2 {
				return nil
			}
			return errors.New("give JAIL HOST, or JAIL --all")
		}),
		RunE: func(cmd *cobra.Command, a []string) error {
			host := ""
			if len(a) == 2 {
				host = a[1]
			}
			n, err := client(cmd).Unban(cmd.Context(), a[0], host, all)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d ban(s) lifted in %s\n", n, a[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "lift every ban of the jail")
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
	return &cobra.Command{
		Use:   "flush",
		Short: "Remove peerjail's nftables table (every ban); no other table is touched",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fw, err := firewall.NewNFTables()
			if err != nil {
				return err
			}
			defer fw.Close()
			if err := fw.Flush(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "table inet peerjail removed")
			return nil
		},
	}
}
