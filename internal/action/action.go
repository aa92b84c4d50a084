// Package action is the layer between a jail's decisions and the places
// that enforce them: the kernel (nftables), a node's own controls (a Flow
// node's admin API), a URL (webhook) or a program (exec). A jail has a list
// of actions; each is a typed backend behind Action, and the daemon runs
// each one with its own queue, retries, metrics and status line, so that
// one failing backend never holds up another.
package action

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/config"

	"github.com/peerjail/peerjail/internal/jail"
)

// Action enforces decisions in one place. Implementations are safe for
// concurrent use; the daemon calls Apply from one goroutine per action.
type Action interface {
	// Name is how status, logs and metrics name the action: its type and,
	// where it has one, its target ("flow-admin http://127.0.0.1:9002").
	Name() string
	// Takes reports whether the action enforces decisions on keys of this
	// kind: nftables takes addresses and prefixes, flow-admin identities,
	// webhook and exec both. A decision on a key an action does not take
	// is never given to it.
	Takes(k jail.Key) bool
	// Apply carries out the decisions in order. It returns nil when every
	// one took effect; otherwise an error, which is a *Failed when some of
	// them did take effect, naming those that did not: only those are
	// retried. A ban of a key already held, or an unban of one not held,
	// is not an error.
	Apply(ctx context.Context, ds []jail.Decision) error
	// Held lists what the action holds now, read from where it enforces
	// (the kernel's sets, the node's blocklist) when it can; an action that
	// only notifies returns ErrNotListable.
	Held(ctx context.Context) ([]Held, error)
	// Close releases what the action holds open (connections, processes
	// it started); it waits for them to end.
	Close() error
}

// Env is what a backend's constructor gets besides its ActionSpec.
type Env struct {
	Jail   string
	Logger *slog.Logger
	// Version is the running peerjail's version, for backends that report
	// it (the webhook's Document, a User-Agent); "" when unknown.
	Version string
}

// Constructor builds a backend from its configuration; the daemon keeps one
// per action type it does not build itself.
type Constructor func(spec config.ActionSpec, env Env) (Action, error)

// Held is one key an action holds, in a jail.
type Held struct {
	Jail string
	Key  string
	// Remaining is the time left where the backend keeps one (nftables
	// element timeouts); 0 when it keeps none.
	Remaining time.Duration
}

// ErrNotListable is Held's answer from an action that keeps no state it
// could read back (webhook, exec).
var ErrNotListable = errors.New("the action cannot list what it holds")

// Failed is Apply's error when only some decisions took effect.
type Failed struct {
	// Index lists the positions, in Apply's argument, of the decisions that
	// did not take effect, each with its error.
	Index []int
	Errs  []error
}

func (f *Failed) Error() string {
	if len(f.Errs) == 0 {
		return "no decision failed"
	}
	return fmt.Sprintf("%d of the decisions failed; first: %v", len(f.Errs), f.Errs[0])
}

// Unwrap exposes every decision's error to errors.Is and errors.As.
func (f *Failed) Unwrap() []error { return f.Errs }

// Result is what Apply returns for decisions whose own errors are errs (nil
// where one took effect): nil when all did, a *Failed naming those that did
// not when some did, and when none did their error, each distinct error
// once (a failed write shared by every decision is said once).
func Result(errs []error) error {
	f := &Failed{}
	for i, err := range errs {
		if err != nil {
			f.Index = append(f.Index, i)
			f.Errs = append(f.Errs, err)
		}
	}
	switch {
	case len(f.Errs) == 0:
		return nil
	case len(f.Errs) < len(errs):
		return f
	}
	var distinct []error
	for _, e := range f.Errs {
		if !slices.Contains(distinct, e) {
			distinct = append(distinct, e)
		}
	}
	if len(distinct) == 1 {
		return distinct[0]
	}
	return errors.Join(distinct...)
}
