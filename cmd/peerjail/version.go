package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by `make build` with -ldflags "-X main.version=... -X main.commit=...";
// empty in a `go install` or `go build` binary, which fall back to what the
// Go toolchain recorded.
var (
	version string
	commit  string
)

// versionLine reads e.g. "peerjail 0.4.0-3-gabc1234 (commit abc1234…, go1.26.8 linux/amd64)".
func versionLine() string {
	v, c := buildVersion()
	return fmt.Sprintf("peerjail %s (commit %s, %s %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion returns the version and commit, never empty.
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			// "(devel)" for a build in a checkout, the module version for
			// `go install github.com/peerjail/peerjail/cmd/peerjail@v0.4.0`,
			// without its v like the version make takes from the tag.
			v = strings.TrimPrefix(info.Main.Version, "v")
		}
		for _, s := range info.Settings {
			if c == "" && s.Key == "vcs.revision" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

// actionVersion is the version the daemon hands its actions (a webhook's
// Document and User-Agent): none for a development build, whose "(devel)"
// tells a receiver nothing.
func actionVersion() string {
	if v, _ := buildVersion(); v != "(devel)" {
		return v
	}
	return ""
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version it was built with",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}
