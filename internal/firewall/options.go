package firewall

import (
	"log/slog"
	"time"

	"github.com/mdlayher/netlink/nltest"
)

// Option configures NewNFTables.
type Option func(*config)

type config struct {
	netns    int // 0: the caller's own namespace
	log      *slog.Logger
	testDial nltest.Func      // level-1 tests: netlink answered in process
	now      func() time.Time // tests: the clock the cache ages by
}

// WithNetNS makes the firewall work in the network namespace that fd refers
// to (an open /var/run/netns/<name> or /proc/<pid>/ns/net), instead of the
// caller's own. The caller keeps the fd open while the firewall is used.
func WithNetNS(fd int) Option { return func(c *config) { c.netns = fd } }

// WithLogger sets the logger; the default discards.
func WithLogger(log *slog.Logger) Option {
	return func(c *config) {
		if log != nil {
			c.log = log
		}
	}
}

// withTestDial answers netlink in process instead of the kernel.
func withTestDial(f nltest.Func) Option { return func(c *config) { c.testDial = f } }

// withClock sets the clock of the nftables backend's cache.
func withClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func newConfig(opts []Option) config {
	c := config{log: discard}
	for _, o := range opts {
		o(&c)
	}
	return c
}
