//go:build !linux

package firewall

// NewNFTables fails with ErrUnsupported: nftables exists only on Linux.
func NewNFTables(opts ...Option) (Firewall, error) {
	_ = newConfig(opts)
	return nil, ErrUnsupported
}
