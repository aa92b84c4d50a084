//go:build !linux

package control

import (
	"errors"
	"net"
)

// peerUID refuses everyone where peer credentials are not implemented:
// peerjail's firewall is Linux-only, so there is no daemon to talk to.
func peerUID(*net.UnixConn) (uint32, error) {
	return 0, errors.New("peer credentials: unsupported on this platform")
}
