package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/peerjail/peerjail/internal/fleet"
)

func newFleetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Show the fleet: the NATS connection, the outbox, the consumer's lag, reporters and quorums",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("fleet needs a subcommand: status")}
		},
	}
	cmd.AddCommand(newFleetStatusCmd())
	return cmd
}

func newFleetStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the fleet's connection, outbox, consumer lag, reporters seen and keys waiting for a quorum",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := client(cmd).FleetStatus(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				var b bytes.Buffer
				if err := json.Indent(&b, raw, "", "  "); err != nil {
					return fmt.Errorf("fleet status: %w", err)
				}
				b.WriteByte('\n')
				_, err := b.WriteTo(cmd.OutOrStdout())
				return err
			}
			var st fleet.Status
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("fleet status: daemon's answer: %w", err)
			}
			return st.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return addSocketFlag(cmd)
}
