package main

import (
	"fmt"
	"strings"
)

// Bitcoin Core lines, printed from the format strings of bitcoin/bitcoin
// (tinyformat's %d and %s print as Go's do for these arguments):
//
//	src/net.cpp, CNode::CNode (v28 era: LogDebug, m_addr_name = addr.ToStringAddrPort()):
//	  "Added connection to %s peer=%d\n" (fLogIPs) / "Added connection peer=%d\n"
//	src/net.cpp, CNode::CloseSocketDisconnect: "disconnecting peer=%d\n"
//	src/net_processing.cpp, v29 era (LogIP / DisconnectMsg, TRACEPOINT):
//	  Misbehaving:      "Misbehaving: peer=%d%s\n" (message_prefixed = ": " + message)
//	  MaybeDiscourageAndDisconnect: "Disconnecting and discouraging peer %d!\n",
//	                    "Warning: not punishing noban peer %d!\n" (LogPrintf)
//	  VERSION:          "receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s%s\n"
//	                    (LogIP: ", peeraddr=" + addr.ToStringAddrPort(); ", mapped_as=%d")
//	  VERACK:           "New %s %s peer connected: version: %d, blocks=%d, peer=%d%s%s\n" (LogPrintf)
//	  WTXIDRELAY etc.:  "wtxidrelay received after verack, %s\n", DisconnectMsg = "disconnecting peer=%d" + LogIP
//	  feeler:           "feeler connection completed, %s\n"
//	src/net_processing.cpp, v25 era (LogPrint, score):
//	  "Misbehaving: peer=%d (%d -> %d)%s%s\n" (warning " DISCOURAGE THRESHOLD EXCEEDED")
//	  "receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s\n"
//	  "wtxidrelay received after verack from peer=%d; disconnecting\n"
//	  "New outbound peer connected: version: %d, blocks=%d, peer=%d%s (%s)\n" (LogPrintf)
//	src/logging.cpp (v29 era) FormatLogStrInPlace: timestamp, "[thread] " (-logthreadnames),
//	  "[file:line] [function] " (-logsourcelocations), then GetLogPrefix: "[net] " for a
//	  debug line of a category, nothing for LogPrintf/LogInfo.
func bitcoin() *logfile {
	f := &logfile{name: "bitcoin"}
	v29 := func(format string, a ...any) { // LogDebug(BCLog::NET, ...)
		f.add(f.now().Format("2006-01-02T15:04:05Z") + " [net] " + fmt.Sprintf(format, a...))
	}
	info := func(format string, a ...any) { // LogPrintf / LogInfo
		f.add(f.now().Format("2006-01-02T15:04:05Z") + " " + fmt.Sprintf(format, a...))
	}
	v25 := func(format string, a ...any) { // LogPrint(BCLog::NET, ...), -logtimemicros
		f.add(f.now().Format("2006-01-02T15:04:05.000000Z") + " " + fmt.Sprintf(format, a...))
	}
	located := func(thread, file string, line int, fn, format string, a ...any) {
		f.add(fmt.Sprintf("%s [%s] [%s:%d] [%s] [net] ", f.now().Format("2006-01-02T15:04:05Z"), thread, file, line, fn) + fmt.Sprintf(format, a...))
	}
	logIP := func(addr string) string { return ", peeraddr=" + addr }
	disconnectMsg := func(id int, addr string) string {
		s := fmt.Sprintf("disconnecting peer=%d", id)
		if addr != "" {
			s += logIP(addr)
		}
		return s
	}

	// v29, -logips -debug=net
	v29("Added connection to %s peer=%d", "198.51.100.10:8333", 7)
	v29("receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s%s", "/Satoshi:28.1.0/", 70016, 874000, "192.0.2.1:8333", 1, 7, logIP("198.51.100.10:8333"), "")
	info("New %s %s peer connected: version: %d, blocks=%d, peer=%d%s%s", "inbound", "v2", 70016, 874000, 7, logIP("198.51.100.10:8333"), "")
	v29("Misbehaving: peer=%d%s", 7, ": too-large bloom filter")
	v29("Disconnecting and discouraging peer %d!", 7)
	v29("disconnecting peer=%d", 7)
	// The peer chooses its user agent; bitcoind sanitises it (no '=' survives).
	v29("receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s%s", sanitize("/Satoshi:27.0.0/ txrelay=1, peer=1, peeraddr="+victim+":8333"), 70016, 874000, "192.0.2.1:8333", 1, 9, logIP("198.51.100.11:8333"), "")
	v29("Misbehaving: peer=%d%s", 9, ": "+sanitize("invalid header received from "+victim))
	v29("receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s%s", "/Satoshi:28.0.0/", 70016, 874001, "[2001:db8::1]:8333", 1, 14, logIP("[2001:db8::14]:8333"), ", mapped_as=64496")
	v29("wtxidrelay received after verack, %s", disconnectMsg(10, "[2001:db8::10]:8333"))
	v29("filterload received despite not offering bloom services, %s", disconnectMsg(11, ""))
	v29("feeler connection completed, %s", disconnectMsg(12, "198.51.100.12:8333"))
	v29("Added connection to %s peer=%d", "2g5qfdkn2vvcbqhzcyvyiitg4ceukybxklraxjnu7atlhd22gdwywaid.onion:8333", 13)
	v29("Added connection peer=%d", 8)
	info("Warning: not punishing noban peer %d!", 3)
	info("New %s %s peer connected: version: %d, blocks=%d, peer=%d%s%s", "outbound-full-relay", "v1", 70016, 874002, 16, logIP("198.51.100.16:8333"), ", mapped_as=64497")
	located("msghand", "net_processing.cpp", 1902, "Misbehaving", "Misbehaving: peer=%d%s", 15, ": mutated block")

	// v25, -logips -debug=net -logtimemicros
	v25("Added connection to %s peer=%d", "198.51.100.5:51234", 5)
	v25("receive version message: %s: version %d, blocks=%d, us=%s, txrelay=%d, peer=%d%s", "/Satoshi:25.1.0/", 70016, 800000, "192.0.2.1:8333", 1, 5, logIP("198.51.100.5:51234"))
	v25("Misbehaving: peer=%d (%d -> %d)%s%s", 5, 0, 20, "", ": addr message size = 1001")
	v25("Misbehaving: peer=%d (%d -> %d)%s%s", 5, 80, 100, " DISCOURAGE THRESHOLD EXCEEDED", ": headers message size = 2001")
	v25("Disconnecting and discouraging peer %d!", 5)
	v25("wtxidrelay received after verack from peer=%d; disconnecting", 6)
	// VERACK before v27: "New outbound peer connected: version: %d, blocks=%d, peer=%d%s (%s)\n" (LogPrintf)
	f.add(f.now().Format("2006-01-02T15:04:05.000000Z") + " " + fmt.Sprintf("New outbound peer connected: version: %d, blocks=%d, peer=%d%s (%s)", 70016, 800001, 17, logIP("198.51.100.17:8333"), "block-relay-only"))
	return f
}

// sanitize is SanitizeString with SAFE_CHARS_DEFAULT (src/util/strencodings.cpp):
// what bitcoind keeps of a peer's user agent before logging it.
func sanitize(s string) string {
	const safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01234567890 .,;-_/:?@()"
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(safe, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
