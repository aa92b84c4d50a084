package timestamp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// attackStamps are the texts a client can put into the part of a line it
// writes (a user name, an error text, a JSON string), one per format the
// detector knows, far in the future and far in the past.
var attackStamps = []string{
	"2099-01-01T00:00:00.123456789Z", "2001-01-01T00:00:00.123456789Z",
	"2099-01-01 00:00:00,123456789", "2001-01-01T00:00:00.5+02:00",
	"2099/01/01 00:00:00.123456", "2001/01/01 00:00:00.123456",
	"[01/Jan/2099:00:00:00 +0000]", "01/Jan/2001:00:00:00 +0000",
	"Jan  1 00:00:00.999999999", "Dec 31 23:59:59",
	"4070908800", "4070908800123", "4070908800123456", "4070908800123456789", "978307200.5",
	"[4070908800.123]", "audit(4070908800.123:1):", "type=X msg=audit(978307200.123:1):",
	`{"time":"2099-01-01T00:00:00.123456789Z"}`, `{"ts":4070908800.123456789}`,
	`{"@timestamp":"2001-01-01T00:00:00.5Z","timestamp":"2099-01-01T00:00:00.5Z"}`,
	"time=2099-01-01T00:00:00.123456789Z", "ts=4070908800.123", "timestamp=2001-01-01T00:00:00.5Z",
	`time="2099-01-01 00:00:00.123456789"`, "<34>1 2099-01-01T00:00:00.123456789Z h a - - -",
	"DEBUG[01-01|00:00:00.999]", "INFO [12-31|23:59:59.999]", "E[2099-01-01|00:00:00.123]",
	"I[2001-01-01|00:00:00.123456789]", "t=2099-01-01T00:00:00+0000", `{"t":"2099-01-01T00:00:00.123456789Z"}`,
	`{"_msg":"x","ts":"2001-01-01T00:00:00.5Z"}`, "[2099-01-01 00:00:00.123]", "2001-01-01T00:00:00.123456Z",
}

// carrier is a line shape whose attacker-written part is filled in by fill.
type carrier struct {
	name string
	fill func(attack string) string
	want string // the time the program wrote, "" when it wrote none
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var carriers = []carrier{
	{"sshd syslog user", func(a string) string {
		return "Jul 27 00:00:00 bastion sshd[1]: Invalid user " + a + " from 198.51.100.7 port 4444"
	}, "2024-07-27T00:00:00Z"},
	{"sshd syslog failed password", func(a string) string {
		return "Jul 27 00:00:00 bastion sshd[1]: Failed password for invalid user " + a + " from 198.51.100.7 port 4444 ssh2"
	}, "2024-07-27T00:00:00Z"},
	{"sshd short-iso user", func(a string) string {
		return "2024-07-27T00:00:00+0000 bastion sshd[1]: Invalid user " + a + " from 198.51.100.7 port 4444"
	}, "2024-07-27T00:00:00Z"},
	{"sshd without a prefix", func(a string) string {
		return "Invalid user " + a + " from 198.51.100.7 port 4444"
	}, ""},
	{"libp2p zap err", func(a string) string {
		return "2024-07-27T00:00:00.014Z\tWARN\tcanonical-log\tswarm/swarm_listen.go:128\tCANONICAL_MISBEHAVING_PEER: peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.014Z"},
	{"libp2p zap err in syslog", func(a string) string {
		return "Jul 27 00:00:00 ipfsNode ipfs[46133]: 2024-07-27T00:00:00.014Z\tWARN\tcanonical-log\tswarm/swarm_listen.go:128\tCANONICAL_MISBEHAVING_PEER: peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.014Z"},
	{"libp2p slog err", func(a string) string {
		return "time=2024-07-27T00:00:00.014Z level=WARN msg=CANONICAL_MISBEHAVING_PEER peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.014Z"},
	{"libp2p zap json fields", func(a string) string {
		return "2024-07-27T00:00:00.036Z\tDEBUG\tbitswap-server\tserver/server.go:415\treceived wantlist\t{\"from\": " + jsonString(a) + "}"
	}, "2024-07-27T00:00:00.036Z"},
	{"flow json string", func(a string) string {
		return `{"level":"warn","suspicious":true,"remote_address":"198.51.100.7:3569","error":` + jsonString(a) + `,"time":"2024-07-27T00:00:00.5Z"}`
	}, "2024-07-27T00:00:00.5Z"},
	{"flow json string before time", func(a string) string {
		return `{"message":` + jsonString(a) + `,"ts":1722038400.5}`
	}, "2024-07-27T00:00:00.5Z"},
	{"flow json without time", func(a string) string {
		return `{"level":"warn","suspicious":true,"remote_address":"198.51.100.7:3569","error":` + jsonString(a) + `}`
	}, ""},
	{"flow json nested time", func(a string) string {
		return `{"suspicious":true,"peer":{"time":` + jsonString(a) + `,"ts":4070908800},"remote_address":"198.51.100.7:3569"}`
	}, ""},
	{"flow json in syslog", func(a string) string {
		return `Jul 27 00:00:00 flow flow[7]: {"suspicious":true,"error":` + jsonString(a) + `,"remote_address":"198.51.100.7:3569"}`
	}, "2024-07-27T00:00:00Z"},
	{"slog msg", func(a string) string {
		return "time=2024-07-27T00:00:00.5Z level=INFO msg=" + strconv.Quote(a) + " remote=198.51.100.7"
	}, "2024-07-27T00:00:00.5Z"},
	{"logfmt msg without time", func(a string) string {
		return "level=INFO msg=" + strconv.Quote(a) + " remote=198.51.100.7"
	}, ""},
	{"logfmt key after msg", func(a string) string {
		return "level=INFO msg=refused " + a
	}, ""},
	{"python", func(a string) string {
		return "2024-07-27 00:00:00,123 - web3 - WARNING - bad request " + a
	}, "2024-07-27T00:00:00.123Z"},
	{"go log", func(a string) string {
		return "2024/07/27 00:00:12.456789 dial " + a + ": i/o timeout"
	}, "2024-07-27T00:00:12.456789Z"},
	{"clf request", func(a string) string {
		return `203.0.113.7 - - [27/Jul/2024:00:00:13 +0000] "POST /` + strings.ReplaceAll(a, " ", "%20") + ` HTTP/1.1" 429 0 "` + a + `"`
	}, "2024-07-27T00:00:13Z"},
	{"auditd", func(a string) string {
		return "type=USER_AUTH msg=audit(1722038410.123:42): pid=1 acct=" + strconv.Quote(a) + " res=failed"
	}, "2024-07-27T00:00:10.123Z"},
	{"epoch at start", func(a string) string {
		return "1722038409.75 rejected " + a
	}, "2024-07-27T00:00:09.75Z"},
	// Node software: go-ethereum (terminal, logfmt, JSON), CometBFT (text,
	// JSON), Bitcoin Core, Nano; the peer's text where each writes one.
	{"geth terminal name", func(a string) string {
		return "DEBUG[07-27|00:00:00.717] Adding p2p peer                          peercount=13 id=0f1e2d3c4b5a6978 conn=inbound addr=198.51.100.7:30303 name=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.717Z"},
	{"geth terminal err in syslog", func(a string) string {
		return "Jul 27 00:00:00 node geth[1]: DEBUG[07-27|00:00:00.717] Removing p2p peer                        peercount=12 id=a1b2c3d4e5f60718 duration=3s req=false err=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.717Z"},
	{"geth terminal behind a monotonic journal", func(a string) string {
		return "[ 1241.567890] node geth[1]: INFO [07-27|00:00:00.717] Rejected inbound connection              addr=198.51.100.7:30303 err=" + strconv.Quote(a)
	}, "2024-07-27T00:00:00.717Z"},
	{"geth logfmt err", func(a string) string {
		return `t=2024-07-27T00:00:00+0000 lvl=debug msg="Rejected inbound connection" addr=198.51.100.7:30303 err=` + strconv.Quote(a)
	}, "2024-07-27T00:00:00Z"},
	{"logfmt t after msg", func(a string) string {
		return "lvl=debug msg=refused t=" + a
	}, ""},
	{"geth json err", func(a string) string {
		return `{"t":"2024-07-27T00:00:00.7174Z","lvl":"debug","msg":"Removing p2p peer","err":` + jsonString(a) + `}`
	}, "2024-07-27T00:00:00.7174Z"},
	{"json nested t", func(a string) string {
		return `{"lvl":"debug","msg":"Adding p2p peer","peer":{"t":` + jsonString(a) + `},"name":` + jsonString(a) + `}`
	}, ""},
	{"cometbft err", func(a string) string {
		return `E[2024-07-27|00:00:00.524] Stopping peer for error                      module=p2p peer="Peer{MConn{198.51.100.7:26656} 7f3c in}" err=` + strconv.Quote(a)
	}, "2024-07-27T00:00:00.524Z"},
	{"cometbft err in the journal", func(a string) string {
		return `2024-07-27T00:00:00+00:00 node cometbft[1]: E[2024-07-27|00:00:00.524] Stopping peer for error                      module=p2p peer=7f3c@198.51.100.7:26656 err=` + strconv.Quote(a)
	}, "2024-07-27T00:00:00.524Z"},
	{"cometbft json err before ts", func(a string) string {
		return `{"_msg":"Stopping peer for error","err":` + jsonString(a) + `,"level":"error","module":"p2p","peer":"Peer{MConn{198.51.100.7:26656} 7f3c in}","ts":"2024-07-27T00:00:00.524082434Z"}`
	}, "2024-07-27T00:00:00.524082434Z"},
	{"bitcoin user agent", func(a string) string {
		return "2024-07-27T00:00:00Z [net] receive version message: /" + a + "/: version 70016, blocks=1, us=192.0.2.1:8333, txrelay=1, peer=9, peeraddr=198.51.100.7:8333"
	}, "2024-07-27T00:00:00Z"},
	{"bitcoin logtimemicros reason", func(a string) string {
		return "2024-07-27T00:00:00.717400Z Misbehaving: peer=5 (0 -> 20): " + a
	}, "2024-07-27T00:00:00.7174Z"},
	{"nano error text", func(a string) string {
		return "[2024-07-27 00:00:00.717] [tcp_server] [debug] Error reading message: " + a + ", status: invalid_header ([::ffff:198.51.100.7]:7075)"
	}, "2024-07-27T00:00:00.717Z"},
	{"rfc5424", func(a string) string {
		return "<34>1 2024-07-27T00:00:00.003Z host app 1 - - rejected " + a
	}, "2024-07-27T00:00:00.003Z"},
}

// TestAttackerTextSetsNoTime is the clock takeover at its root: whatever
// stamp a client writes into its part of a line, the line's time is the one
// the program (or its syslog relay) wrote at the start, or none.
func TestAttackerTextSetsNoTime(t *testing.T) {
	for _, c := range carriers {
		t.Run(c.name, func(t *testing.T) {
			warm := newTestDetector(t, "")
			for _, a := range attackStamps {
				line := c.fill(a)
				checkFind(t, newTestDetector(t, ""), line, c.want)
				checkFind(t, warm, line, c.want)
			}
		})
	}
}

// TestAttackerTextWithPatterns: an operator's datepattern looks where the
// program writes its stamp too, never into the message.
func TestAttackerTextWithPatterns(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"%Y-%m-%dT%H:%M:%S.%f%z", ""},
		{"%b %d %H:%M:%S", "2024-07-27T00:00:00Z"},
		{"iso8601", ""},
		{"syslog", "2024-07-27T00:00:00Z"},
		{"epoch", ""},
		{"epoch_ms", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			for _, a := range attackStamps {
				line := fmt.Sprintf("Jul 27 00:00:00 bastion sshd[1]: Invalid user %s from 198.51.100.7 port 4444", a)
				checkFind(t, newTestDetector(t, tt.pattern), line, tt.want)
			}
		})
	}
}
