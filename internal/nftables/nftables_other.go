//go:build !linux

package nftables

import "github.com/peerjail/peerjail/internal/firewall"

// New fails with firewall.ErrUnsupported: nftables exists only on Linux.
func New(opts ...Option) (firewall.Firewall, error) {
	_ = newConfig(opts)
	return nil, firewall.ErrUnsupported
}

// dialer is unused: there is no kernel to dial.
type dialer = struct{}
