package execaction

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
)

// run starts p once with vars and waits for it, killing its process group
// when the timeout passes.
func (e *Exec) run(ctx context.Context, p *program, vars map[string]string) error {
	args := make([]string, len(p.args))
	for i, a := range p.args {
		args[i] = a.expand(vars)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Env = environ(vars, e.path)
	cmd.Dir = "/"
	stderr := &tail{max: stderrTail}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && cmd.ProcessState != nil:
		return fmt.Errorf("%s killed after the %s timeout: %w; stderr: %q", p.path, e.timeout, context.DeadlineExceeded, stderr.bytes())
	case ctx.Err() != nil && cmd.ProcessState != nil:
		return fmt.Errorf("%s killed: %w", p.path, ctx.Err())
	case errors.As(err, &exitErr):
		return &ExitError{Program: p.path, Code: exitErr.ExitCode(), Stderr: stderr.bytes()}
	}
	return fmt.Errorf("run %s: %w", p.path, err)
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if len(b) >= t.max {
		t.buf = append(t.buf[:0], b[len(b)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(b) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, b...)
	return n, nil
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}
