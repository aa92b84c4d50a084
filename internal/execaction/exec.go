// Package execaction is the exec action: for each decision it runs a
// program the config names (ufw, ipset, a node's own CLI), with the
// decision in its arguments and environment, never through a shell, under
// a timeout and a limit on simultaneous runs. It makes one attempt per
// decision; the daemon's action runner retries and queues.
package execaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// DefaultTimeout bounds one run when the spec gives no timeout.
const DefaultTimeout = 30 * time.Second

// stderrTail is how much of a failed run's standard error an error quotes.
const stderrTail = 200

// waitDelay is how long a run may keep its standard error open after the
// program exits (a child it left in the background): then it is closed.
const waitDelay = 2 * time.Second

// ExitError is a run whose program exited with a non-zero status.
type ExitError struct {
	Program string
	Code    int    // the exit status; -1 when a signal ended it
	Stderr  []byte // the last bytes of its standard error, at most 200
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited with status %d; stderr: %q", e.Program, e.Code, e.Stderr)
}

// program is a configured command line.
type program struct {
	path string // resolved at New
	args []arg  // after the program
}

// Exec is the exec backend.
type Exec struct {
	name    string
	ban     program
	unban   *program // nil: an unban does nothing
	timeout time.Duration
	path    string // the programs' PATH: peerjail's own
	sem     chan struct{}
	log     *slog.Logger
	runs    sync.WaitGroup
}

var _ action.Action = (*Exec)(nil)

// New builds an exec action; it matches action.Constructor.
func New(spec config.ActionSpec, env action.Env) (action.Action, error) {
	return NewExec(spec, env)
}

// NewExec is New with the concrete type.
func NewExec(spec config.ActionSpec, env action.Env) (*Exec, error) {
	if !supported {
		return nil, errors.New("exec: not supported on this platform")
	}
	if len(spec.Ban) == 0 {
		return nil, errors.New("exec: ban: name the program and its arguments, e.g. [/usr/sbin/ufw, insert, '1', deny, from, '{key}']")
	}
	e := &Exec{
		timeout: spec.Timeout,
		path:    os.Getenv("PATH"),
		sem:     make(chan struct{}, max(1, spec.Concurrency)),
		log:     env.Logger,
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.path == "" {
		e.path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var err error
	if e.ban, err = parseProgram("ban", spec.Ban); err != nil {
		return nil, err
	}
	if len(spec.Unban) > 0 {
		p, err := parseProgram("unban", spec.Unban)
		if err != nil {
			return nil, err
		}
		e.unban = &p
	}
	e.name = "exec " + e.ban.path // as the config summary names it (config.ActionSpec.Label)
	return e, nil
}

func parseProgram(what string, argv []string) (program, error) {
	if strings.Contains(argv[0], "{") {
		return program{}, fmt.Errorf("exec: %s: the program %q is fixed by the config: no placeholders in it", what, argv[0])
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return program{}, fmt.Errorf("exec: %s: %w", what, err)
	}
	p := program{path: path}
	for i, s := range argv[1:] {
		a, err := parseArg(s)
		if err != nil {
			return program{}, fmt.Errorf("exec: %s: argument %d %q: %w", what, i+1, s, err)
		}
		p.args = append(p.args, a)
	}
	return p, nil
}

// Name is "exec PROGRAM".
func (e *Exec) Name() string { return e.name }

// Takes every key.
func (e *Exec) Takes(k jail.Key) bool { return k.IsValid() }

// Held is ErrNotListable: peerjail cannot ask a program what it holds.
func (e *Exec) Held(context.Context) ([]action.Held, error) { return nil, action.ErrNotListable }

// Close waits for runs in flight.
func (e *Exec) Close() error {
	e.runs.Wait()
	return nil
}

// Apply runs the program for each decision, up to the concurrency limit at
// once. Decisions on one key run one after another in their order (a ban
// before its unban); decisions on different keys run side by side.
func (e *Exec) Apply(ctx context.Context, ds []jail.Decision) error {
	errs := make([]error, len(ds))
	var order []jail.Key
	byKey := map[jail.Key][]int{}
	for i, d := range ds {
		if _, ok := byKey[d.Key]; !ok {
			order = append(order, d.Key)
		}
		byKey[d.Key] = append(byKey[d.Key], i)
	}
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Go(func() {
			for _, i := range byKey[k] {
				if err := e.apply(ctx, ds[i]); err != nil {
					errs[i] = fmt.Errorf("%s %s %s: %w", e.name, ds[i].Action, ds[i].Key, err)
				}
			}
		})
	}
	wg.Wait()
	return action.Result(errs)
}

func (e *Exec) apply(ctx context.Context, d jail.Decision) error {
	p := &e.ban
	if d.Action == jail.ActionUnban {
		if p = e.unban; p == nil {
			return nil
		}
	}
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.sem }()
	e.runs.Add(1)
	defer e.runs.Done()
	return e.run(ctx, p, values(d))
}
