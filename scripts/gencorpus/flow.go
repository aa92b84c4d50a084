package main

import (
	"strconv"
	"strings"
	"time"
)

// Line categories of the flow corpus.
const (
	catSuspicious       = "suspicious"         // "suspicious":true with a remote_address
	catSuspiciousNoAddr = "suspicious_no_addr" // flagged, but no address to ban
	catDecoy            = "decoy"              // a string value holds escaped JSON naming a victim
)

var (
	flowOffenses = []string{"unauthorized_sender", "invalid_message", "unknown_channel",
		"unauthorized_unicast_on_channel", "unauthorized_publish_on_channel", "sender_ejected",
		"unknown_msg_type", "unexpected_error", "invalid_control_message", "rpc_inspection_failure"}
	flowChannels = []string{"push-blocks", "sync-committee", "request-collections",
		"request-receipts-by-block-id", "push-transactions", "consensus-committee",
		"request-chunks", "push-receipts", "sync-cluster-cluster-1-abcd"}
	flowMessageTypes = []string{"*messages.BlockProposal", "*messages.SyncRequest",
		"*messages.BlockResponse", "*messages.ChunkDataRequest", "*messages.EntityRequest",
		"*flow.TransactionBody", "unknown"}
	flowRoles = []string{"collection", "consensus", "execution", "verification", "access"}
	// level, module, message of the lines that flag nothing
	flowRoutine = [][3]string{
		{"info", "compliance", "received block proposal"},
		{"info", "hotstuff", "processing proposal"},
		{"debug", "follower", "processing block proposal"},
		{"info", "finalizer", "block finalized"},
		{"debug", "ingestion", "collection received"},
		{"debug", "sync_engine", "sending sync request"},
		{"info", "execution", "block executed"},
		{"debug", "libp2p", "peer connection established"},
		{"debug", "gossipsub_rpc_validation_inspector", "control message inspection complete"},
		{"warn", "alsp", "misbehavior report below penalty threshold"},
	}
)

// field is one member of a JSON object: value is already JSON.
type field struct{ key, value string }

func jstr(s string) string { return strconv.Quote(s) } // equal to JSON for the printable ASCII written here

func writeFlow(g *gen) {
	nodeID := g.chars("0123456789abcdef", 64)
	role := pick(g, flowRoles)
	var text []byte
	for range g.opt.lines {
		g.tick()
		// zerolog's RFC 3339 with nanoseconds, trailing zeros trimmed
		at := g.now.Truncate(time.Microsecond).Add(time.Duration(g.rng.IntN(1000)))
		fields := []field{{"level", ""}, {"node_role", jstr(role)}, {"node_id", jstr(nodeID)}, {"module", ""}}
		out := line{at: at}
		var msg string
		switch r := g.rng.Float64(); {
		case r < g.opt.matchShare:
			fields[0].value, fields[3].value = jstr(pick(g, []string{"error", "warn"})), jstr("alsp")
			out.host = g.someSender()
			offense := pick(g, flowOffenses)
			body := []field{
				{"peer_id", jstr(flowPeer(g))},
				{"sender_id", jstr(g.chars("0123456789abcdef", 64))},
				{pick(g, []string{"networking_offense", "misbehavior"}), jstr(offense)},
				{"remote_address", jstr(hostPort(out.host, pick(g, []int{3569, 3569, 3570, 40000 + g.rng.IntN(20000)})))},
				{"channel", jstr(pick(g, flowChannels))},
				{"message_type", jstr(pick(g, flowMessageTypes))},
				{"role", jstr(pick(g, append(flowRoles, "unknown")))},
				{"suspicious", "true"},
			}
			shuffle(g, body) // each call site of flow-go orders its fields differently
			fields = append(fields, body...)
			msg = "potential slashable offense: " + strings.ReplaceAll(offense, "_", " ")
			out.category = catSuspicious
		default:
			rt := pick(g, flowRoutine)
			fields[0].value, fields[3].value, msg = jstr(rt[0]), jstr(rt[1]), rt[2]
			fields, out = routineFlow(g, fields, out)
			if out.category == catSuspiciousNoAddr {
				msg = "potential slashable offense from unknown peer"
			}
		}
		tail := []field{{"time", jstr(at.UTC().Format(time.RFC3339Nano))}, {"message", jstr(msg)}}
		if g.chance(0.3) {
			tail[0], tail[1] = tail[1], tail[0]
		}
		text = appendObject(text[:0], append(fields, tail...))
		out.text = text
		g.emit(out)
	}
}

// routineFlow adds the fields of a line that must not count: an address
// without the flag, the flag without an address, a decoy, or block data.
func routineFlow(g *gen, fields []field, out line) ([]field, line) {
	switch r := g.rng.Float64(); {
	case r < 0.10:
		extra := []field{
			{"remote_address", jstr(hostPort(g.someHost(0.7), 3569))},
			{"peer_id", jstr(flowPeer(g))},
			pick(g, []field{{"suspicious", "false"}, {"inbound", "true"}}),
		}
		shuffle(g, extra)
		return append(fields, extra...), out
	case r < 0.13:
		out.category = catSuspiciousNoAddr
		return append(fields, field{"peer_id", jstr(flowPeer(g))}, field{"suspicious", "true"},
			field{"networking_offense", jstr(pick(g, flowOffenses))}), out
	case r < 0.13+g.opt.hostileShare:
		// The payload a peer sent is quoted in an error: it names a victim
		// with the flag set, but as text inside a string.
		out.victim = g.hosts.victim()
		inner := `{"suspicious":true,"remote_address":"` + hostPort(out.victim, 3569) + `"}`
		out.category = catDecoy
		return append(fields,
			field{"peer_id", jstr(flowPeer(g))},
			field{"remote_address", jstr(hostPort(g.hosts.attacker(), 3569))},
			field{"error", jstr("could not decode payload " + inner + ": invalid message")},
			field{"suspicious", "false"}), out
	}
	fields = append(fields, field{"height", itoa(10_000_000 + g.rng.IntN(80_000_000))},
		field{"block_id", jstr(g.chars("0123456789abcdef", 64))})
	if g.chance(0.3) {
		fields = append(fields, field{"duration_ms", strconv.FormatFloat(float64(g.rng.IntN(100000))/1000, 'f', -1, 64)})
	}
	return fields, out
}

// someSender is the host of an offending line: an attacker with the
// configured share, otherwise a benign host that misbehaved once.
func (g *gen) someSender() string {
	if g.chance(g.opt.attackShare) {
		return g.hosts.attacker()
	}
	return g.hosts.benignHost()
}

// someHost is a benign host with probability benign, else an attacker.
func (g *gen) someHost(benign float64) string {
	if g.chance(benign) {
		return g.hosts.benignHost()
	}
	return g.hosts.attacker()
}

func appendObject(b []byte, fs []field) []byte {
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.key...)
		b = append(b, '"', ':')
		b = append(b, f.value...)
	}
	return append(b, '}')
}

func shuffle[T any](g *gen, xs []T) {
	g.rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
}

func flowPeer(g *gen) string { return "16Uiu2HAm" + g.chars(base58, 44) }
