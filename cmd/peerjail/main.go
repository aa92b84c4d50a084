// Command peerjail bans misbehaving peers found in logs, with nftables.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/replay"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Exit codes, a contract (docs/architecture.md).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitInterrupted is the shell's 128+SIGINT: a command stopped by
	// SIGINT or SIGTERM before it was done.
	exitInterrupted = 130
)

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal kills, should a read refuse to end (a terminal).
	context.AfterFunc(ctx, stop)
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return exitInterrupted // what the command had is printed; the signal says the rest
	}
	fmt.Fprintf(stderr, "peerjail: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, config.ErrInvalid) || errors.Is(err, replay.ErrUnknownJail) ||
		errors.Is(err, control.ErrInvalid) {
		return exitUsage
	}
	return exitFailure
}

// usageError marks errors in how the command was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
