package pipeline

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// attackStamps are what a client writes into its part of a line, one per
// timestamp format the detector knows, far in the future or the past.
var attackStamps = []string{
	"2099-01-01T00:00:00.123456789Z", "2001-01-01T00:00:00.123456789Z",
	"2099-01-01 00:00:00,123456789", "2099/01/01 00:00:00.123456", "01/Jan/2099:00:00:00 +0000",
	"Jan  1 00:00:00.999999999", "4070908800.123456", "4070908800123", "audit(4070908800.123:1):",
	`{"time":"2099-01-01T00:00:00.123456789Z"}`, `{"ts":978307200.5}`,
	"time=2099-01-01T00:00:00.123456789Z", "ts=4070908800.123",
}

// bitcoinSanitize keeps what Bitcoin Core's SanitizeString (SAFE_CHARS_DEFAULT)
// keeps of a peer's user agent.
func bitcoinSanitize(s string) string {
	const safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01234567890 .,;-_/:?@()"
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(safe, s[i]) >= 0 {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestStockFiltersTakeNoTimeFromMessages runs every stock filter over lines
// whose attacker-written part (sshd's user name, libp2p's err= and other
// values, a flow JSON string) holds a stamp: a hit's time is the program's
// (or its relay's) stamp, or the time the line was read, never the body's.
func TestStockFiltersTakeNoTimeFromMessages(t *testing.T) {
	stock, err := config.StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	read := time.Date(2024, 7, 27, 12, 0, 0, 0, time.UTC)
	zap := "2024-07-27T00:00:00.014Z\tWARN\tcanonical-log\tswarm/swarm_listen.go:128\t"
	slog := "time=2024-07-27T00:00:00.014Z level=WARN msg="
	tests := []struct {
		filter, name string
		line         func(a string) string
		want         string // "" for the read time
	}{
		{"sshd", "user in syslog", func(a string) string {
			return "Jul 27 00:00:00 bastion sshd[1]: Invalid user " + a + " from 198.51.100.7 port 4444"
		}, "2024-07-27T00:00:00Z"},
		{"sshd", "user without a prefix", func(a string) string {
			return "Invalid user " + a + " from 198.51.100.7 port 4444"
		}, ""},
		{"sshd", "failed password", func(a string) string {
			return "2024-07-27T00:00:00+0000 bastion sshd[1]: Failed password for invalid user " + a + " from 198.51.100.7 port 4444 ssh2"
		}, "2024-07-27T00:00:00Z"},
		{"sshd-ddos", "client banner", func(a string) string {
			return "Jul 27 00:00:00 bastion sshd[1]: Bad protocol version identification '" + a + "' from 198.51.100.7 port 4444"
		}, "2024-07-27T00:00:00Z"},
		{"sshd-aggressive", "client offer", func(a string) string {
			return "[ 1234.567890] bastion sshd[1]: Unable to negotiate with 198.51.100.7 port 4444: no matching cipher found. Their offer: " + a + " [preauth]"
		}, ""},
		{"libp2p-misbehaving", "zap err", func(a string) string {
			return zap + "CANONICAL_MISBEHAVING_PEER: peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
		}, "2024-07-27T00:00:00.014Z"},
		{"libp2p-misbehaving", "zap err in syslog", func(a string) string {
			return "Jul 27 00:00:00 n ipfs[1]: " + zap + "CANONICAL_MISBEHAVING_PEER: peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
		}, "2024-07-27T00:00:00.014Z"},
		{"libp2p-misbehaving", "slog err", func(a string) string {
			return slog + "CANONICAL_MISBEHAVING_PEER peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 component=identify err=" + strconv.Quote(a)
		}, "2024-07-27T00:00:00.014Z"},
		{"libp2p-peer-status", "zap", func(a string) string {
			return zap + "CANONICAL_PEER_STATUS: peer=12D3KooW addr=/ip4/198.51.100.7/udp/4001/quic sample_rate=100 agent=" + strconv.Quote(a)
		}, "2024-07-27T00:00:00.014Z"},
		{"libp2p-peer-status", "slog", func(a string) string {
			return slog + "CANONICAL_PEER_STATUS peer=12D3KooW addr=/ip4/198.51.100.7/tcp/4001 sample_rate=100 agent=" + strconv.Quote(a)
		}, "2024-07-27T00:00:00.014Z"},
		{"flow-suspicious", "string with time key", func(a string) string {
			return `{"suspicious":true,"remote_address":"198.51.100.7:3569","error":` + quoteJSON(a) + `,"time":"2024-07-27T00:00:00.5Z"}`
		}, "2024-07-27T00:00:00.5Z"},
		{"flow-suspicious", "string without time key", func(a string) string {
			return `{"suspicious":true,"remote_address":"198.51.100.7:3569","error":` + quoteJSON(a) + `}`
		}, ""},
		{"flow-suspicious", "nested time key", func(a string) string {
			return `{"suspicious":true,"peer":{"time":` + quoteJSON(a) + `},"remote_address":"198.51.100.7:3569","message":` + quoteJSON(a) + `}`
		}, ""},
		{"flow-suspicious", "syslog prefix", func(a string) string {
			return `Jul 27 00:00:00 n flow[7]: {"suspicious":true,"error":` + quoteJSON(a) + `,"remote_address":"198.51.100.7:3569"}`
		}, "2024-07-27T00:00:00Z"},
		// Node software (stock/bitcoin-*, nano-*, geth-*, cometbft-*): the
		// peer's text where the program writes one, else none at all.
		{"bitcoin-misbehaving", "reason", func(a string) string {
			return "2024-07-27T00:00:00Z [net] Misbehaving: peer=5: " + a
		}, "2024-07-27T00:00:00Z"},
		{"bitcoin-connections", "user agent", func(a string) string {
			return "2024-07-27T00:00:00Z [net] receive version message: /" + bitcoinSanitize(a) + "/: version 70016, blocks=1, us=192.0.2.1:8333, txrelay=1, peer=5, peeraddr=198.51.100.7:8333"
		}, "2024-07-27T00:00:00Z"},
		{"bitcoin-discouraged", "no peer text", func(string) string {
			return "Jul 27 00:00:00 n bitcoind[1]: 2024-07-27T00:00:00Z [net] Disconnecting and discouraging peer 5!"
		}, "2024-07-27T00:00:00Z"},
		{"nano-peer-errors", "no peer text", func(string) string {
			return "[2024-07-27 00:00:00.014] [tcp_listener] [debug] Rejected connection from excluded peer: ::ffff:198.51.100.7"
		}, "2024-07-27T00:00:00.014Z"},
		{"geth-handshake", "err", func(a string) string {
			return "DEBUG[07-27|00:00:00.014] Rejected inbound connection              addr=198.51.100.7:30303 err=" + strconv.Quote(a)
		}, ""},
		{"geth-too-many-peers", "no peer text", func(string) string {
			return `t=2024-07-27T00:00:00+0000 lvl=trace msg="Rejected peer" id=5555aaaa addr=198.51.100.7:30303 conn=inbound err="too many peers"`
		}, ""},
		{"geth-peer-drop", "err", func(a string) string {
			return `{"t":"2024-07-27T00:00:00.014Z","lvl":"debug","msg":"Removing p2p peer","peercount":1,"id":"a1b2","duration":"3s","req":false,"err":` + quoteJSON(a) + `}`
		}, ""},
		{"geth-connections", "client name", func(a string) string {
			return "DEBUG[07-27|00:00:00.014] Adding p2p peer                          peercount=1 id=a1b2 conn=inbound addr=198.51.100.7:30303 name=" + strconv.Quote(a)
		}, ""},
		{"cometbft-peer-error", "err", func(a string) string {
			return `E[2024-07-27|00:00:00.014] Stopping peer for error                      module=p2p peer="Peer{MConn{198.51.100.7:26656} 7f3c in}" err=` + strconv.Quote(a)
		}, ""},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.filter] = true
		t.Run(tt.filter+" "+tt.name, func(t *testing.T) {
			f, err := filter.New(stock[tt.filter])
			if err != nil {
				t.Fatal(err)
			}
			d, err := timestamp.NewDetector(timestamp.Options{Location: time.UTC, Reference: func() time.Time { return read }})
			if err != nil {
				t.Fatal(err)
			}
			want := read
			if tt.want != "" {
				want, _ = time.Parse(time.RFC3339Nano, tt.want)
			}
			for _, a := range attackStamps {
				l := logline.Line{Text: []byte(tt.line(a)), Time: read}
				hit, out := f.Match(&l)
				if out != filter.Match {
					t.Fatalf("%s does not match %q (%v)", tt.filter, l.Text, out)
				}
				if got, _, _ := lineTime(&l, hit, d); !got.Equal(want) {
					t.Errorf("time of %q = %v, want %v", l.Text, got, want)
				}
			}
		})
	}
	for name := range stock {
		if !covered[name] {
			t.Errorf("stock filter %s has no case here", name)
		}
	}
}
