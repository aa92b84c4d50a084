package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// SchemaVersion is the Document's version: a field's meaning never changes
// within one; new fields may appear.
const SchemaVersion = 1

// Document is the JSON body peerjail POSTs for one decision, and the value
// a template renders. Schema version 1:
//
//	version           1
//	jail              the jail's name
//	action            "ban" or "unban"
//	key               who: an address (203.0.113.7), a prefix in CIDR form
//	                  (2001:db8:1::/64) or an identity (a peer ID, a node ID)
//	key_kind          "address", "prefix" or "identity"
//	addrs             an identity's addresses banned with it (the
//	                  correlation table); [] otherwise
//	at                RFC 3339 UTC: a ban's decisive hit, an unban's time
//	until             ban only: when it ends, RFC 3339 UTC
//	duration_seconds  ban only: until - at, in whole seconds
//	hits              ban only: weighted hits in the window at the ban
//	offences          ban only: times this key was banned, this one included
//	evidence          ban only: the last matched log lines, oldest first, as
//	                  read (text an attacker may have written); [] otherwise
//	host              the reporting host's name
//	peerjail_version  the reporting peerjail's version, when known
//
// Keys are always present except until, duration_seconds, hits and
// offences, which an unban omits.
type Document struct {
	Version         int      `json:"version"`
	Jail            string   `json:"jail"`
	Action          string   `json:"action"`
	Key             string   `json:"key"`
	KeyKind         string   `json:"key_kind"`
	Addrs           []string `json:"addrs"`
	At              string   `json:"at"`
	Until           string   `json:"until"`
	DurationSeconds int64    `json:"duration_seconds"`
	Hits            int      `json:"hits"`
	Offences        int      `json:"offences"`
	Evidence        []string `json:"evidence"`
	Host            string   `json:"host"`
	PeerjailVersion string   `json:"peerjail_version,omitempty"`
}

// MarshalJSON writes the ban-only fields for a ban alone, zero or not (a
// manual ban has 0 hits, and says so).
func (d Document) MarshalJSON() ([]byte, error) {
	type plain Document // without this method
	if d.Action == "ban" {
		return marshal(plain(d))
	}
	return marshal(struct {
		plain
		Until           string `json:"until,omitempty"`
		DurationSeconds int64  `json:"duration_seconds,omitempty"`
		Hits            int    `json:"hits,omitempty"`
		Offences        int    `json:"offences,omitempty"`
	}{plain: plain(d)})
}

// NewDocument describes d as reported by host running peerjail version.
func NewDocument(d jail.Decision, host, version string) Document {
	doc := Document{
		Version:         SchemaVersion,
		Jail:            d.Jail,
		Action:          d.Action.String(),
		Key:             d.Key.String(),
		KeyKind:         keyKind(d.Key),
		Addrs:           make([]string, len(d.Addrs)),
		At:              stamp(d.At),
		Evidence:        []string{},
		Host:            host,
		PeerjailVersion: version,
	}
	for i, p := range d.Addrs {
		doc.Addrs[i] = jail.Key{Prefix: p}.String()
	}
	if d.Action == jail.ActionBan {
		doc.Until = stamp(d.Until)
		doc.DurationSeconds = int64(d.Duration / time.Second)
		doc.Hits, doc.Offences = d.Hits, d.Offences
		doc.Evidence = append(doc.Evidence, d.Evidence...)
	}
	return doc
}

func keyKind(k jail.Key) string {
	switch {
	case k.ID != "":
		return "identity"
	case k.Prefix.IsSingleIP():
		return "address"
	}
	return "prefix"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// funcs are the template's helpers beyond text/template's own.
var funcs = template.FuncMap{
	// json writes v as JSON: a string quoted and escaped, so that a
	// template can put any field, attacker-written evidence included,
	// inside a JSON body: {"text": {{json .Key}}}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// slack escapes &, < and > as Slack's mrkdwn requires, so that a log
	// line cannot make a <!channel> mention or a link.
	"slack": strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace,
	// discord escapes Discord's markdown characters with a backslash
	// (mentions are for the body's allowed_mentions to turn off).
	"discord": strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, ">", `\>`).Replace,
	// join is strings.Join with the list first: {{join .Addrs ", "}}.
	"join": strings.Join,
	// truncate cuts s to at most n characters, marking a cut with "…", to
	// stay under a service's message limit (Discord's is 2000).
	"truncate": func(n int, s string) string {
		r := []rune(s)
		if n < 1 || len(r) <= n {
			return s
		}
		return string(r[:n-1]) + "…"
	},
}

// marshal is json.Marshal leaving <, > and & as they are.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonEncode writes doc as one line of JSON; <, > and & stay as they are,
// which JSON allows and receivers read more easily than \u003c.
func jsonEncode(w io.Writer, doc Document) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
