package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenManCmd writes one man page per command (peerjail.1, peerjail-run.1,
// ...) for `make install` and the .deb. It is hidden: operators read the
// pages, they do not make them. The pages' date is SOURCE_DATE_EPOCH's
// month when set (make sets it to the commit's time), so that building the
// same commit twice gives the same files.
func newGenManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages of every command into DIR",
		Hidden: true,
		Args:   args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := os.MkdirAll(a[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			v, _ := buildVersion()
			header := &doc.GenManHeader{Section: "1", Source: "peerjail " + v, Manual: "peerjail manual"}
			if err := doc.GenManTree(root, header, a[0]); err != nil {
				return fmt.Errorf("write man pages to %s: %w", a[0], err)
			}
			return nil
		},
	}
}
