package firewall

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dryRun logs what it would do and keeps an in-memory view, so List shows
// the bans it would have made. It touches nothing.
type dryRun struct {
	mu     sync.Mutex
	mem    memory
	log    *slog.Logger
	closed bool
}

// NewDryRun returns a Firewall that only logs; a nil log discards.
func NewDryRun(log *slog.Logger) Firewall {
	if log == nil {
		log = discard
	}
	d := &dryRun{log: log.With("firewall", "dry-run")}
	d.mem.at = time.Now()
	return d
}

func (d *dryRun) check(ctx context.Context) error {
	if d.closed {
		return ErrClosed
	}
	return ctx.Err()
}

func (d *dryRun) Setup(ctx context.Context, jails []Jail) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return err
	}
	d.mem.advance(time.Now())
	if err := d.mem.setup(jails); err != nil {
		return err
	}
	for _, j := range jails {
		d.log.Info("would set up jail", "table", "inet "+Table, "jail", j.Name, "protocol", j.Protocol, "ports", j.Ports)
	}
	return nil
}

func (d *dryRun) Apply(ctx context.Context, changes []Change) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return err
	}
	if err := d.mem.apply(changes, time.Now(), d.log); err != nil {
		return err
	}
	for _, c := range changes {
		if c.Add {
			d.log.Info("would ban", "jail", c.Jail, "prefix", c.Prefix, "timeout", c.Timeout)
		} else {
			d.log.Info("would unban", "jail", c.Jail, "prefix", c.Prefix)
		}
	}
	return nil
}

func (d *dryRun) Restore(ctx context.Context, bans []Change) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return err
	}
	norm, err := RestoreOrder(bans)
	if err != nil {
		return err
	}
	if err := d.mem.apply(norm, time.Now(), d.log); err != nil {
		return err
	}
	d.log.Info("would restore bans", "bans", len(norm))
	return nil
}

func (d *dryRun) List(ctx context.Context) ([]Element, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	return d.mem.list(time.Now(), d.log), nil
}

func (d *dryRun) Verify(ctx context.Context, jails []Jail, bans []Change) (Drift, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return Drift{}, err
	}
	return d.mem.verify(jails, bans, time.Now())
}

func (d *dryRun) Flush(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(ctx); err != nil {
		return err
	}
	d.log.Info("would delete table", "table", "inet "+Table)
	d.mem.flush()
	return nil
}

func (d *dryRun) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}
