package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/nftables"
)

// FlushOptions configure Flush; zero values mean the production defaults.
type FlushOptions struct {
	StatePath, SocketPath string
	// Force flushes although a daemon runs (it then rebuilds its table).
	Force bool
	// NewFirewall opens the firewall; nil means nftables here.
	NewFirewall func() (firewall.Firewall, error)
}

// ErrDaemonRunning is Flush's refusal while a daemon runs.
var ErrDaemonRunning = errors.New("a peerjail daemon is running")

// Flush removes peerjail's table. While a daemon runs it refuses unless
// forced: the daemon's status would list bans the kernel no longer holds.
// It holds the daemon's locks meanwhile, so none starts half-way.
func Flush(ctx context.Context, o FlushOptions) error {
	if o.StatePath == "" {
		o.StatePath = DefaultStatePath
	}
	if o.SocketPath == "" {
		o.SocketPath = DefaultSocketPath
	}
	if o.NewFirewall == nil {
		o.NewFirewall = func() (firewall.Firewall, error) { return nftables.New() }
	}
	lock, err := lockInstance(o.StatePath, o.SocketPath)
	switch {
	case errors.Is(err, ErrAlreadyRunning) && !o.Force:
		return fmt.Errorf("%w: %w; stop it, or lift its bans with `peerjail unban JAIL --all` (--force flushes anyway)", ErrDaemonRunning, err)
	case errors.Is(err, ErrAlreadyRunning):
	case err != nil:
		return err
	default:
		defer lock.release()
	}
	fw, err := o.NewFirewall()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	defer fw.Close()
	return fw.Flush(ctx)
}
