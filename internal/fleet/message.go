package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// Version is the version of the report message, its "v" field. A consumer
// drops a report of another version rather than guess what it means.
const Version = 1

// maxMessage bounds a report on the wire: a report is a few hundred bytes,
// and a larger one is not one of ours.
const maxMessage = 4096

// Action is what a report or a decision does to a key.
type Action string

// The actions of reports and decisions.
const (
	Ban   Action = "ban"
	Unban Action = "unban"
)

// Report is one local decision of a shared jail, as the daemon hands it to
// Publish.
type Report struct {
	Action   Action
	Jail     string
	Key      string // jail.Key's text: an address, a prefix or an identity
	Until    time.Time
	Offences int
	// Evidence are the lines that led to the ban; only their digest leaves
	// the host, so no log text is shared.
	Evidence []string
}

// message is a report on the wire. Reporter is informational only: who
// reported is the subject's token, which the server's permissions pin.
type message struct {
	V        int    `json:"v"`
	Action   Action `json:"action"`
	Jail     string `json:"jail"`
	Key      string `json:"key"`
	Until    string `json:"until,omitempty"` // RFC 3339
	Offences int    `json:"offences,omitempty"`
	Evidence string `json:"evidence,omitempty"` // sha256 of the lines, hex
	Reporter string `json:"reporter"`
	Peerjail string `json:"peerjail,omitempty"`
}

// errReport marks a message that is not a valid report.
var errReport = errors.New("not a valid report")

func encode(r Report, reporter, version string) ([]byte, error) {
	if r.Action != Ban && r.Action != Unban {
		return nil, fmt.Errorf("report %s in %s: action %q: %w", r.Key, r.Jail, r.Action, errReport)
	}
	m := message{V: Version, Action: r.Action, Jail: r.Jail, Key: r.Key, Offences: r.Offences,
		Reporter: reporter, Peerjail: version}
	if !r.Until.IsZero() {
		m.Until = r.Until.UTC().Format(time.RFC3339)
	}
	if len(r.Evidence) > 0 {
		h := sha256.New()
		for _, l := range r.Evidence {
			h.Write([]byte(l))
			h.Write([]byte{'\n'})
		}
		m.Evidence = hex.EncodeToString(h.Sum(nil))
	}
	return json.Marshal(m)
}

// received is a report as the quorum counts it: who sent it comes from the
// subject, when from the stream's own stamp.
type received struct {
	Reporter string
	Jail     string
	Key      string // canonical, as jail.Key prints it
	Action   Action
	At       time.Time
}

// decode reads a message stored at stamp on subject, which must be
// <prefix>.<reporter>.<jail>.
func decode(prefix, subject string, data []byte, stamp time.Time) (received, error) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	reporter, jailName, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || reporter == "" || jailName == "" || strings.Contains(jailName, ".") {
		return received{}, fmt.Errorf("subject %q is not %s.<reporter>.<jail>: %w", subject, prefix, errReport)
	}
	if len(data) > maxMessage {
		return received{}, fmt.Errorf("%d bytes from %s: %w", len(data), reporter, errReport)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return received{}, fmt.Errorf("from %s: %w: %v", reporter, errReport, err)
	}
	if m.V != Version || (m.Action != Ban && m.Action != Unban) || m.Jail != jailName {
		return received{}, fmt.Errorf("from %s: v %d action %q jail %q on subject of jail %q: %w",
			reporter, m.V, m.Action, m.Jail, jailName, errReport)
	}
	// 128 keeps an IPv6 address as it was reported: each host widens it to
	// its own jail's ipv6_prefix when it bans.
	k, err := jail.ParseKey(m.Key, 128)
	if err != nil {
		return received{}, fmt.Errorf("from %s: key %q: %w: %v", reporter, m.Key, errReport, err)
	}
	return received{Reporter: reporter, Jail: jailName, Key: k.String(), Action: m.Action, At: stamp}, nil
}
