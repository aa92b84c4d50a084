package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"
	gethlog "github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/p2p/enode"
)

// go-ethereum lines, written by go-ethereum's own log handlers (v1.14.12:
// terminal, logfmt and JSON, --log.format)
// with the messages, levels and keys of p2p/server.go (same version):
//
//	listenLoop: srv.log.Debug("Rejected inbound connection", "addr", fd.RemoteAddr(), "err", err)
//	setupConn:  srv.log.Trace("Failed RLPx handshake", "addr", c.fd.RemoteAddr(), "conn", c.flags, "err", err)
//	            clog := srv.log.New("id", c.node.ID(), "addr", c.fd.RemoteAddr(), "conn", c.flags)
//	            clog.Trace("Rejected peer", "err", err)       (err DiscTooManyPeers: "too many peers")
//	            clog.Trace("Failed p2p handshake", "err", err)
//	run:        srv.log.Debug("Adding p2p peer", "peercount", n, "id", p.ID(), "conn", c.flags, "addr", p.RemoteAddr(), "name", p.Name())
//	            srv.log.Debug("Removing p2p peer", "peercount", n, "id", pd.ID(), "duration", d, "req", pd.requested, "err", pd.err)
//
// c.flags prints as connFlag.String() ("inbound", "dyndial"), given here as
// that string; node IDs are real enode.IDs, addresses real *net.TCPAddr.
func geth() *logfile {
	f := &logfile{name: "geth"}
	emit := func(h slog.Handler, lvl slog.Level, msg string, ctx []any, attrs ...any) {
		if len(ctx) > 0 {
			h = h.WithAttrs(argsToAttrs(ctx))
		}
		r := slog.NewRecord(f.now(), lvl, msg, 0)
		r.Add(attrs...)
		if err := h.Handle(context.Background(), r); err != nil {
			panic(err)
		}
	}
	var out bytes.Buffer
	term := gethlog.NewTerminalHandlerWithLevel(&out, gethlog.LevelTrace, false)
	logfmt := gethlog.LogfmtHandler(&out)
	jsonh := gethlog.JSONHandler(&out)
	flush := func() {
		for _, l := range bytes.Split(bytes.TrimRight(out.Bytes(), "\n"), []byte("\n")) {
			f.add(string(l))
		}
		out.Reset()
	}
	id1 := enode.HexID("a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90")
	id2 := enode.HexID("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")
	id3 := enode.HexID("5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa")
	a30, a31, a32 := tcp("198.51.100.30", 30303), tcp("198.51.100.31", 41234), tcp("198.51.100.32", 30303)
	a33 := tcp("2001:db8::33", 30303)

	for _, h := range []slog.Handler{term, logfmt, jsonh} {
		emit(h, gethlog.LevelDebug, "Rejected inbound connection", nil, "addr", a30, "err", errors.New("too many attempts"))
		emit(h, gethlog.LevelTrace, "Failed RLPx handshake", nil, "addr", a31, "conn", "inbound", "err", errors.New("read tcp 192.0.2.1:30303->198.51.100.31:41234: i/o timeout"))
		emit(h, gethlog.LevelTrace, "Failed p2p handshake", []any{"id", id2, "addr", a33, "conn", "inbound"}, "err", errors.New("too many peers"))
		emit(h, gethlog.LevelTrace, "Rejected peer", []any{"id", id3, "addr", a32, "conn", "inbound"}, "err", errors.New("too many peers"))
		emit(h, gethlog.LevelTrace, "Rejected peer", []any{"id", id3, "addr", a32, "conn", "dyndial"}, "err", errors.New("too many peers"))
		emit(h, gethlog.LevelDebug, "Adding p2p peer", nil, "peercount", 12, "id", id1, "conn", "inbound", "addr", a30, "name", "Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23.4")
		// The client name is the peer's to choose.
		emit(h, gethlog.LevelDebug, "Adding p2p peer", nil, "peercount", 13, "id", id2, "conn", "inbound", "addr", a33, "name", "x addr="+victim+":30303 name=y")
		emit(h, gethlog.LevelDebug, "Removing p2p peer", nil, "peercount", 12, "id", id1, "duration", common.PrettyDuration(3*time.Second), "req", false, "err", errors.New("message too large: addr="+victim+":30303"))
		emit(h, gethlog.LevelDebug, "Removing p2p peer", nil, "peercount", 11, "id", id2, "duration", common.PrettyDuration(90*time.Second), "req", true, "err", errors.New("too many peers"))
		emit(h, gethlog.LevelDebug, "Removing p2p peer", nil, "peercount", 10, "id", id3, "duration", common.PrettyDuration(5*time.Second), "req", false, "err", errors.New("EOF"))
		emit(h, gethlog.LevelDebug, "Removing p2p peer", nil, "peercount", 9, "id", id3, "duration", common.PrettyDuration(5*time.Second), "req", false, "err", errors.New("client quitting"))
		// The peer's error text holds the victim's address; geth's addr= is the peer's.
		emit(h, gethlog.LevelDebug, "Rejected inbound connection", nil, "addr", a31, "err", errors.New("not in netrestrict list addr="+victim+":1"))
		emit(h, gethlog.LevelInfo, "Looking for peers", nil, "peercount", 9, "tried", 40, "static", 0)
		flush()
	}
	return f
}

func argsToAttrs(args []any) []slog.Attr {
	var out []slog.Attr
	for i := 0; i+1 < len(args); i += 2 {
		out = append(out, slog.Any(args[i].(string), args[i+1]))
	}
	return out
}
