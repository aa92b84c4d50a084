package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// CometBFT lines, written by CometBFT's own loggers (libs/log NewTMLogger and
// NewTMJSONLogger, v0.38.17) with the call of p2p/switch.go (same version):
//
//	StopPeerForError: sw.Logger.Error("Stopping peer for error", "peer", peer, "err", reason)
//	StopPeerGracefully: sw.Logger.Info("Stopping peer gracefully")
//
// where sw.Logger carries module=p2p and peer prints as p2p/peer.go's
// (*peer).String(), "Peer{%v %v in|out}" of p.mconn (MConnection.String():
// "MConn{%v}" of the TCP remote address) and p.ID().
func cometbft() *logfile {
	f := &logfile{name: "cometbft"}
	var out bytes.Buffer
	for _, logger := range []cmtlog.Logger{
		cmtlog.NewTMLogger(cmtlog.NewSyncWriter(&out)).With("module", "p2p"),
		cmtlog.NewTMJSONLogger(cmtlog.NewSyncWriter(&out)).With("module", "p2p"), // log_format = "json"
	} {
		cometbftLines(logger)
	}
	for _, l := range bytes.Split(bytes.TrimRight(out.Bytes(), "\n"), []byte("\n")) {
		f.add(string(l))
	}
	return f
}

func cometbftLines(logger cmtlog.Logger) {
	stop := func(p fmt.Stringer, reason error) {
		logger.Error("Stopping peer for error", "peer", p, "err", reason)
	}
	const id40, id41 = "7f3c5e1d2b4a69788796a5b4c3d2e1f00f1e2d3c", "aa11bb22cc33dd44ee55ff6600112233445566ff"
	stop(peer{tcp("198.51.100.40", 26656), id40, false}, errors.New("error with peer 7f3c5e1d2b4a69788796a5b4c3d2e1f00f1e2d3c: invalid vote: wrong signature"))
	stop(peer{tcp("2001:db8::41", 26656), id41, true}, errors.New("read tcp [2001:db8::1]:26656->[2001:db8::41]:26656: connection reset by peer"))
	stop(peer{tcp("198.51.100.42", 26656), id40, false}, errors.New("EOF"))
	// A reason text shaped by the peer, with the victim's address in the peer's format.
	stop(peer{tcp("198.51.100.43", 26656), id41, false}, errors.New(`invalid message peer="Peer{MConn{`+victim+`:26656} `+id40+` in}" from `+victim))
	logger.Info("Stopping peer gracefully")
	// peer-scoped form (ID@IP:PORT, p2p.NetAddress.String())
	stop(netAddress{id40, "198.51.100.44", 26656}, errors.New("unknown channel 0x99"))
}

type peer struct {
	remote   net.Addr
	id       string
	outbound bool
}

func (p peer) String() string {
	mconn := fmt.Sprintf("MConn{%v}", p.remote)
	if p.outbound {
		return fmt.Sprintf("Peer{%v %v out}", mconn, p.id)
	}
	return fmt.Sprintf("Peer{%v %v in}", mconn, p.id)
}

// netAddress prints as p2p.NetAddress.String(): ID@IP:PORT.
type netAddress struct {
	id   string
	ip   string
	port int
}

func (n netAddress) String() string {
	return fmt.Sprintf("%s@%s", n.id, net.JoinHostPort(n.ip, fmt.Sprint(n.port)))
}
