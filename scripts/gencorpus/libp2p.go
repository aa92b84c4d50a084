package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Line categories of the libp2p corpus.
const (
	catPeerStatus     = "peer_status"     // CANONICAL_PEER_STATUS with an /ip4 or /ip6 addr=
	catMisbehaving    = "misbehaving"     // CANONICAL_MISBEHAVING_PEER with addr=
	catMisbehavingNet = "misbehaving_net" // CANONICAL_MISBEHAVING_PEER with net_addr= only
)

const (
	libp2pPID      = 46133
	libp2pHostname = "ipfsNode"
	zapTime        = "2006-01-02T15:04:05.000Z07:00"
	syslogTime     = "Jan _2 15:04:05"
)

// misbehavior is what a protocol reports about a peer that broke its rules:
// the component, the error and the message (both %q-quoted by go-libp2p).
var misbehaviors = [][3]string{
	{"identify", "stream reset", "could not read identify message"},
	{"quic-transport", "CRYPTO_ERROR 0x12a (remote): peer IDs don't match", "peer ID verification failed"},
	{"tls", "peer IDs don't match", "handshake: peer ID mismatch"},
	{"noise", "unexpected EOF", "noise handshake failed"},
	{"webtransport", "certhash mismatch", "certificate hash not offered"},
	{"rcmgr", "resource limit exceeded", "peer went over its stream limit"},
	{"autonat", "dial refused", "too many dial-back requests"},
	{"kad-dht", "message too large", "malformed DHT message"},
}

// libp2pNoise are lines a busy node writes besides the canonical ones. Many
// carry the same multiaddrs as the canonical lines: a filter that looks for
// an address anywhere in the line would count them.
var libp2pNoise = []func(g *gen, l *libp2pLine){
	func(g *gen, l *libp2pLine) {
		l.set("INFO", "dht/RtRefreshManager", "rtrefresh/rt_refresh_manager.go:322",
			fmt.Sprintf("starting refreshing cpl %d with key CIQ%s (routing table size was %d)", g.rng.IntN(16), strings.ToUpper(g.chars(base58, 20)), 1+g.rng.IntN(500)))
	},
	func(g *gen, l *libp2pLine) {
		h := l.someHost(g)
		l.set("DEBUG", "swarm2", "swarm/swarm_dial.go:451",
			fmt.Sprintf("dial failed\t{\"peer\": \"%s\", \"addr\": \"%s\", \"error\": \"dial tcp4 0.0.0.0:4001->%s: i/o timeout\"}", peerID(g), multiaddr(g, h), hostPort(h, 4001)))
	},
	func(g *gen, l *libp2pLine) {
		l.set("DEBUG", "basichost", "basic/basic_host.go:420",
			fmt.Sprintf("protocol negotiation failed\t{\"peer\": \"%s\", \"remote\": \"%s\", \"error\": \"stream reset\"}", peerID(g), multiaddr(g, l.someHost(g))))
	},
	func(g *gen, l *libp2pLine) {
		l.set("DEBUG", "net/identify", "identify/id.go:810",
			fmt.Sprintf("%s received listen addrs for %s: [%s]", peerID(g), peerID(g), multiaddr(g, l.someHost(g))))
	},
	func(g *gen, l *libp2pLine) {
		l.set("WARN", "bitswap", "bitswap/bitswap.go:197",
			fmt.Sprintf("bitswap: failed to send wantlist to %s: context deadline exceeded", peerID(g)))
	},
	func(g *gen, l *libp2pLine) {
		l.set("ERROR", "resourcemanager", "libp2p/rcmgr_logging.go:53",
			fmt.Sprintf("Resource limits were exceeded %d times with error \"system: cannot reserve inbound connection: resource limit exceeded\".", 1+g.rng.IntN(500)))
	},
	func(g *gen, l *libp2pLine) {
		l.set("DEBUG", "autonat", "autonat/autonat.go:331", "Attempting NAT detection through "+peerID(g))
	},
	func(g *gen, l *libp2pLine) {
		l.set("INFO", "core/server", "server/server.go:84", "Swarm announcing "+multiaddr(g, l.someHost(g)))
	},
	func(g *gen, l *libp2pLine) {
		l.set("DEBUG", "pubsub", "pubsub/gossipsub.go:1102",
			fmt.Sprintf("GRAFT: add mesh link from %s in /ipfs/pubsub/CIQ%s", peerID(g), strings.ToUpper(g.chars(base58, 20))))
	},
	func(g *gen, l *libp2pLine) {
		l.set("INFO", "net/conngater", "conngater/conngater.go:124",
			fmt.Sprintf("peer %s is blocked in connection gater, addr %s", peerID(g), multiaddr(g, l.someHost(g))))
	},
	func(g *gen, l *libp2pLine) {
		// The canonical-log logger also writes lines that are not canonical.
		l.set("DEBUG", "canonical-log", "swarm/swarm_listen.go:110", "canonical log level set; sampling peer status at 1/100")
	},
}

// libp2pLine is the zap console line being built: time, level, logger,
// caller and message separated by tabs, as go-log writes them.
type libp2pLine struct {
	level, logger, caller, msg string
}

func (l *libp2pLine) set(level, logger, caller, msg string) {
	l.level, l.logger, l.caller, l.msg = level, logger, caller, msg
}

// someHost is the host a noise line mentions: mostly benign, sometimes an
// attacker, so that attackers' addresses appear in lines that must not count.
func (l *libp2pLine) someHost(g *gen) string {
	if g.chance(0.8) {
		return g.hosts.benignHost()
	}
	return g.hosts.attacker()
}

func writeLibp2p(g *gen) {
	peerOf := map[string]string{} // benign hosts keep their peer ID; attackers rotate
	var text []byte
	for range g.opt.lines {
		g.tick()
		at := g.now.Truncate(time.Millisecond)
		out := line{at: at}
		var l libp2pLine
		switch {
		case g.chance(g.opt.matchShare):
			out.host, out.category, out.victim = canonical(g, &l, peerOf)
		case g.opt.format == "syslog" && g.chance(0.03):
			// Other programs write to the same syslog file.
			text = append(g.now.UTC().AppendFormat(text[:0], syslogTime), " "+libp2pHostname+" "...)
			text = append(text, otherProgram(g)...)
			out.text, out.at = text, g.now.Truncate(time.Second)
			g.emit(out)
			continue
		default:
			pick(g, libp2pNoise)(g, &l)
		}
		text = text[:0]
		if g.opt.format == "syslog" {
			text = g.now.UTC().AppendFormat(text, syslogTime)
			text = append(text, " "+libp2pHostname+" ipfs["+strconv.Itoa(libp2pPID)+"]: "...)
		}
		text = at.UTC().AppendFormat(text, zapTime)
		text = append(text, '\t')
		text = append(text, l.level+"\t"+l.logger+"\t"+l.caller+"\t"+l.msg...)
		out.text = text
		g.emit(out)
	}
}

// canonical fills l with a CANONICAL_PEER_STATUS or CANONICAL_MISBEHAVING_PEER
// line and returns the host it counts for, its category and a victim the
// line names in attacker-controlled text.
func canonical(g *gen, l *libp2pLine, peerOf map[string]string) (host, category, victim string) {
	var peer string
	if g.chance(g.opt.attackShare) {
		host, peer = g.hosts.attacker(), peerID(g)
	} else {
		host = g.hosts.benignHost()
		if peer = peerOf[host]; peer == "" {
			peer = peerID(g)
			peerOf[host] = peer
		}
	}
	addr := multiaddr(g, host)
	if !g.chance(g.opt.misbehavingShare) {
		dir, caller := "inbound", "swarm/swarm_listen.go:128"
		if g.chance(1.0 / 3) {
			dir, caller = "outbound", "swarm/swarm_dial.go:500"
		}
		l.set("INFO", "canonical-log", caller, fmt.Sprintf(
			"CANONICAL_PEER_STATUS: peer=%s addr=%s sample_rate=100 connection_status=\"established\" dir=%q", peer, addr, dir))
		return host, catPeerStatus, ""
	}
	m := pick(g, misbehaviors)
	errText := m[1]
	if g.chance(g.opt.hostileShare * 50) {
		// The peer's own error text names someone else's address.
		victim = g.hosts.victim()
		errText = fmt.Sprintf("%s (redirected to /ip4/%s/tcp/4001)", errText, victim)
	}
	caller := pick(g, []string{"swarm/swarm_listen.go:136", "libp2pquic/transport.go:161", "identify/id.go:655"})
	if g.chance(0.05) {
		// Written when the address is not a multiaddr: nothing to ban by.
		l.set("WARN", "canonical-log", caller, fmt.Sprintf(
			"CANONICAL_MISBEHAVING_PEER: peer=%s net_addr=%s component=%s err=%q msg=%q", peer, hostPort(host, 4001), m[0], errText, m[2]))
		return host, catMisbehavingNet, victim
	}
	l.set("WARN", "canonical-log", caller, fmt.Sprintf(
		"CANONICAL_MISBEHAVING_PEER: peer=%s addr=%s component=%s err=%q msg=%q", peer, addr, m[0], errText, m[2]))
	return host, catMisbehaving, victim
}

func otherProgram(g *gen) string {
	switch g.rng.IntN(3) {
	case 0:
		return fmt.Sprintf("systemd[1]: Started session-%d.scope - Session %d of User ipfs.", g.rng.IntN(9999), g.rng.IntN(9999))
	case 1:
		return fmt.Sprintf("kernel: [%d.%06d] IPv4: martian source %s from %s, on dev eth0",
			g.rng.IntN(1000000), g.rng.IntN(1000000), randomV4(g.rng), randomV4(g.rng))
	}
	return fmt.Sprintf("CRON[%d]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", 1000+g.rng.IntN(99000))
}

func peerID(g *gen) string {
	if g.chance(0.9) {
		return "12D3KooW" + g.chars(base58, 44)
	}
	return "Qm" + g.chars(base58, 44)
}

func certhash(g *gen) string { return "uEi" + g.chars(base58+"-_", 43) }

// multiaddr writes the transports a public node sees, in roughly the shares
// they have on the IPFS network.
func multiaddr(g *gen, host string) string {
	proto := "/ip4/"
	if isV6(host) {
		proto = "/ip6/"
	}
	port := pick(g, []int{4001, 4001, 4001, 4002, 30303, 10000 + g.rng.IntN(50000)})
	p := itoa(port)
	var tail string
	switch r := g.rng.Float64(); {
	case r < 0.35:
		tail = "/tcp/" + p
	case r < 0.45:
		tail = "/udp/" + p + "/quic"
	case r < 0.78:
		tail = "/udp/" + p + "/quic-v1"
	case r < 0.90:
		tail = "/udp/" + p + "/quic-v1/webtransport/certhash/" + certhash(g) + "/certhash/" + certhash(g)
	case r < 0.96:
		tail = "/tcp/" + p + "/ws"
	default:
		tail = "/udp/" + p + "/webrtc-direct/certhash/" + certhash(g)
	}
	return proto + host + tail
}

func itoa(n int) string { return strconv.Itoa(n) }
