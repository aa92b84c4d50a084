package nftables

import (
	"github.com/google/nftables"
	"github.com/mdlayher/netlink/nltest"
)

// withTestDial answers netlink in process instead of the kernel.
func withTestDial(f nltest.Func) Option {
	return func(c *config) { c.dial = []nftables.ConnOption{nftables.WithTestDial(f)} }
}
