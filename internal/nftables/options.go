// Package nftables is the kernel backend of firewall.Firewall: it keeps table
// inet peerjail in the kernel over netlink (google/nftables, no nft binary).
package nftables

import (
	"log/slog"
)

// Option configures New.
type Option func(*config)

type config struct {
	netns int // 0: the caller's own namespace
	log   *slog.Logger
	// dial replaces the connection to the kernel; only tests set it (see
	// options_test.go), so that no test dialer is part of the binary.
	dial dialer
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

var discard = slog.New(slog.DiscardHandler)

func newConfig(opts []Option) config {
	c := config{log: discard}
	for _, o := range opts {
		o(&c)
	}
	return c
}
