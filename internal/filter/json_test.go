package filter

import (
	"errors"
	"regexp/syntax"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// flowSpec is the flow-go filter: a suspicious peer, blamed by remote address.
func flowSpec() *JSONSpec {
	return &JSONSpec{
		Match: []Condition{{Path: "suspicious", Op: OpEqual, Values: []any{true}}},
		Host:  "remote_address",
	}
}

const (
	flowSuspicious = `{"level":"warn","node_role":"consensus","module":"alsp","remote_address":"103.48.249.8:58405","channel":"consensus-committee","networking_offense":"invalid_message","suspicious":true,"peer_id":"16Uiu2HAmfVehNAVTYCYeBYUEKi4DmKDt7T8zB1frdCP4kAm94eFB","time":"2024-07-27T00:00:00.122063187Z","message":"potential slashable offense: invalid message"}`
	flowV6         = `{"level":"error","module":"alsp","channel":"request-chunks","remote_address":"[2a01:4f9:25f6:a309:3a9e:cbd:704b:114c]:3569","suspicious":true,"peer_id":"16Uiu2HAmcrGrGkBL3sWdzB6zCkW1ezhp18jCN1yAqufGe1i1J3hF","time":"2024-07-27T00:00:00.520608916Z","message":"potential slashable offense: rpc inspection failure"}`
	flowDecoy      = `{"level":"debug","module":"sync_engine","peer_id":"16Uiu2HAmT7kNsF3ViwXeDKXLoTGBVAcYNSCQUmsefRBiN8vvYjMb","remote_address":"31.44.222.108:3569","error":"could not decode payload {\"suspicious\":true,\"remote_address\":\"123.233.43.42:3569\"}: invalid message","suspicious":false,"time":"2024-07-27T00:00:00.005506874Z","message":"sending sync request"}`
	flowNoAddress  = `{"level":"debug","module":"sync_engine","peer_id":"16Uiu2HAm8DhX76aoUyo5nboCeAzoaLpppmvEaK54XB2gWBYV2gUX","suspicious":true,"networking_offense":"invalid_control_message","message":"potential slashable offense from unknown peer","time":"2024-07-27T00:00:00.018006993Z"}`
	flowNoise      = `{"level":"debug","node_role":"consensus","module":"libp2p","height":21648344,"time":"2024-07-27T00:00:00.000548005Z","message":"peer connection established"}`
)

type jsonCase struct {
	name   string
	spec   *JSONSpec // nil: flowSpec
	text   string
	fields map[string]string
	want   Outcome
	host   string
}

func runJSONCases(t *testing.T, cases []jsonCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if spec == nil {
				spec = flowSpec()
			}
			f, err := NewJSON("test", spec)
			if err != nil {
				t.Fatal(err)
			}
			hit, got := f.Match(&logline.Line{Text: []byte(tc.text), Fields: tc.fields})
			if got != tc.want {
				t.Fatalf("outcome %v, want %v", got, tc.want)
			}
			if got != Match {
				return
			}
			if hit.Host.String() != tc.host || hit.Weight != 1 || hit.Rule != 0 {
				t.Errorf("hit %+v, want host %s weight 1 rule 0", hit, tc.host)
			}
		})
	}
}

func TestJSONFlowLines(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{name: "suspicious v4", text: flowSuspicious, want: Match, host: "103.48.249.8"},
		{name: "suspicious v6", text: flowV6, want: Match, host: "2a01:4f9:25f6:a309:3a9e:cbd:704b:114c"},
		{name: "decoy in error text", text: flowDecoy, want: Miss},
		{name: "suspicious without address", text: flowNoAddress, want: NoHost},
		{name: "noise", text: flowNoise, want: Miss},
		{name: "brief decoy", want: Miss,
			text: `{"level":"info","error":"could not decode {\"suspicious\":true,\"remote_address\":\"203.0.113.9:3569\"}","suspicious":false,"remote_address":"198.51.100.7:3569"}`},
		{name: "string true", text: `{"suspicious":"true","remote_address":"198.51.100.7:3569"}`, want: Match, host: "198.51.100.7"},
		{name: "string false", text: `{"suspicious":"false","remote_address":"198.51.100.7:3569"}`, want: Miss},
		{name: "string TRUE is not true", text: `{"suspicious":"TRUE","remote_address":"198.51.100.7:3569"}`, want: Miss},
		{name: "number 1 is not true", text: `{"suspicious":1,"remote_address":"198.51.100.7:3569"}`, want: Miss},
		{name: "bracketed v6", text: `{"suspicious":true,"remote_address":"[2001:db8::1]:3569"}`, want: Match, host: "2001:db8::1"},
		{name: "v4-mapped v6", text: `{"suspicious":true,"remote_address":"::ffff:203.0.113.77"}`, want: Match, host: "203.0.113.77"},
		{name: "multiaddr", text: `{"suspicious":true,"remote_address":"/ip4/198.51.100.9/tcp/3569"}`, want: Match, host: "198.51.100.9"},
		{name: "address not an address", text: `{"suspicious":true,"remote_address":"node-1.example:3569"}`, want: NoHost},
		{name: "address a number", text: `{"suspicious":true,"remote_address":3569}`, want: NoHost},
		{name: "address null", text: `{"suspicious":true,"remote_address":null}`, want: NoHost},
		{name: "address escaped", text: `{"suspicious":true,"remote_address":"198.51.100.7\u003a3569"}`, want: Match, host: "198.51.100.7"},
		{name: "key escaped", text: `{"suspici\u006fus":true,"remote_address":"198.51.100.7:3569"}`, want: Match, host: "198.51.100.7"},
		{name: "key escaped solidus", spec: &JSONSpec{Match: []Condition{{Path: "a/b", Op: OpExists, Exists: true}}, Host: "h"},
			text: `{"a\/b":0,"h":"198.51.100.7"}`, want: Match, host: "198.51.100.7"},
		{name: "only nested suspicious", text: `{"ctx":{"suspicious":true},"remote_address":"198.51.100.7:3569"}`, want: Miss},
		{name: "last duplicate wins false", text: `{"suspicious":true,"remote_address":"198.51.100.7:3569","suspicious":false}`, want: Miss},
		{name: "last duplicate wins true", text: `{"suspicious":false,"remote_address":"198.51.100.7:3569","suspicious":true}`, want: Match, host: "198.51.100.7"},
		{name: "last duplicate host wins", text: `{"suspicious":true,"remote_address":"198.51.100.7:3569","remote_address":"198.51.100.8:1"}`, want: Match, host: "198.51.100.8"},
		{name: "white space", text: " \t{ \"suspicious\" : true ,\n\"remote_address\" : \"198.51.100.7\" }\r\n", want: Match, host: "198.51.100.7"},
	})
}

func TestJSONBadInput(t *testing.T) {
	deep := `{"suspicious":true,"remote_address":"198.51.100.7","a":` + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + "}"
	huge := `{"suspicious":true,"remote_address":"198.51.100.7","pad":"` + strings.Repeat("x", 3<<20) + `"}`
	runJSONCases(t, []jsonCase{
		{name: "truncated", text: flowSuspicious[:len(flowSuspicious)*2/3], want: Unparsed},
		{name: "truncated in escape", text: `{"suspicious":true,"remote_address":"198.51.100.7","e":"\u00`, want: Unparsed},
		{name: "trailing garbage", text: flowSuspicious + "x", want: Unparsed},
		{name: "two objects", text: flowSuspicious + flowSuspicious, want: Unparsed},
		{name: "array", text: `[{"suspicious":true,"remote_address":"198.51.100.7"}]`, want: Unparsed},
		{name: "not json", text: `Jul 27 node flow: "suspicious" true`, want: Unparsed},
		{name: "invalid utf8 in string", text: "{\"suspicious\":true,\"remote_address\":\"198.51.100.7\",\"m\":\"\xff\"}", want: Unparsed},
		{name: "NUL in string", text: "{\"suspicious\":true,\"remote_address\":\"198.51.100.7\",\"m\":\"a\x00\"}", want: Unparsed},
		{name: "NUL after object", text: "{\"suspicious\":true,\"remote_address\":\"198.51.100.7\"}\x00", want: Unparsed},
		{name: "bad escape", text: `{"suspicious":true,"remote_address":"198.51.100.7","m":"\x41"}`, want: Unparsed},
		{name: "single quotes", text: `{"suspicious":true,'remote_address':"198.51.100.7"}`, want: Unparsed},
		{name: "trailing comma", text: `{"suspicious":true,"remote_address":"198.51.100.7",}`, want: Unparsed},
		{name: "leading zero", text: `{"suspicious":true,"remote_address":"198.51.100.7","n":01}`, want: Unparsed},
		{name: "bare word", text: `{"suspicious":tru,"remote_address":"198.51.100.7"}`, want: Unparsed},
		{name: "deep nesting", text: deep, want: Unparsed},
		{name: "3 MiB line", text: huge, want: Unparsed},
		{name: "broken line without the key", text: `{"level":`, want: Miss},
		{name: "empty", text: "", want: Miss},
	})
}

func TestJSONConditions(t *testing.T) {
	spec := func(c ...Condition) *JSONSpec { return &JSONSpec{Match: c, Host: "addr"} }
	const a = `"addr":"192.0.2.1"`
	runJSONCases(t, []jsonCase{
		{name: "nested path", spec: spec(Condition{Path: "peer.state.banned", Op: OpEqual, Values: []any{true}}),
			text: `{"peer":{"id":"x","state":{"banned":true}},` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "nested path wrong type", spec: spec(Condition{Path: "peer.state.banned", Op: OpEqual, Values: []any{true}}),
			text: `{"peer":{"state":"banned"},` + a + `}`, want: Miss},
		{name: "nested duplicate forgets", spec: spec(Condition{Path: "peer.state", Op: OpExists, Exists: true}),
			text: `{"peer":{"state":1},"peer":{"id":2},` + a + `}`, want: Miss},
		{name: "nested host", spec: &JSONSpec{Match: []Condition{{Path: "ok", Op: OpEqual, Values: []any{false}}}, Host: "conn.remote"},
			text: `{"ok":false,"conn":{"local":"10.0.0.1","remote":"192.0.2.9:1"}}`, want: Match, host: "192.0.2.9"},
		{name: "one of", spec: spec(Condition{Path: "level", Op: OpOneOf, Values: []any{"warn", "error"}}),
			text: `{"level":"error",` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "one of misses", spec: spec(Condition{Path: "level", Op: OpOneOf, Values: []any{"warn", "error"}}),
			text: `{"level":"info",` + a + `}`, want: Miss},
		{name: "number equal", spec: spec(Condition{Path: "code", Op: OpEqual, Values: []any{float64(403)}}),
			text: `{"code":4.03e2,` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "number is not string", spec: spec(Condition{Path: "code", Op: OpEqual, Values: []any{float64(403)}}),
			text: `{"code":"403",` + a + `}`, want: Miss},
		{name: "int value", spec: spec(Condition{Path: "code", Op: OpEqual, Values: []any{403}}),
			text: `{"code":403,` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "null", spec: spec(Condition{Path: "err", Op: OpEqual, Values: []any{nil}}),
			text: `{"err":null,` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "null is not absent", spec: spec(Condition{Path: "err", Op: OpEqual, Values: []any{nil}}),
			text: `{` + a + `}`, want: Miss},
		{name: "escaped string equal", spec: spec(Condition{Path: "msg", Op: OpEqual, Values: []any{`bad "peer" é`}}),
			text: `{"msg":"bad \"peer\" \u00e9",` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "regex on string", spec: spec(Condition{Path: "msg", Op: OpRegex, Regex: `^potential slashable`}),
			text: `{"msg":"potential slashable offense",` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "regex on escaped string", spec: spec(Condition{Path: "msg", Op: OpRegex, Regex: `^a"b$`}),
			text: `{"msg":"a\"b",` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "regex on number text", spec: spec(Condition{Path: "code", Op: OpRegex, Regex: `^4\d\d$`}),
			text: `{"code":404,` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "regex not on bool", spec: spec(Condition{Path: "ok", Op: OpRegex, Regex: `true`}),
			text: `{"ok":true,` + a + `}`, want: Miss},
		{name: "exists null", spec: spec(Condition{Path: "err", Op: OpExists, Exists: true}),
			text: `{"err":null,` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "absent holds", spec: spec(Condition{Path: "err", Op: OpExists, Exists: false}),
			text: `{` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "absent fails", spec: spec(Condition{Path: "err", Op: OpExists, Exists: false}),
			text: `{"err":{},` + a + `}`, want: Miss},
		{name: "all conditions", spec: spec(
			Condition{Path: "suspicious", Op: OpEqual, Values: []any{true}},
			Condition{Path: "networking_offense", Op: OpOneOf, Values: []any{"invalid_message", "unknown_channel"}}),
			text: `{"suspicious":true,"networking_offense":"unauthorized",` + a + `}`, want: Miss},
		{name: "journal unit", spec: spec(Condition{Path: "journal._SYSTEMD_UNIT", Op: OpEqual, Values: []any{"flow.service"}}),
			fields: map[string]string{"_SYSTEMD_UNIT": "flow.service"}, text: `{` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "journal other unit is a miss even for text", spec: spec(Condition{Path: "journal._SYSTEMD_UNIT", Op: OpEqual, Values: []any{"flow.service"}}),
			fields: map[string]string{"_SYSTEMD_UNIT": "sshd.service"}, text: `not json`, want: Miss},
		{name: "journal field absent", spec: spec(Condition{Path: "journal._SYSTEMD_UNIT", Op: OpExists, Exists: true}),
			text: `{` + a + `}`, want: Miss},
		{name: "journal field is not json", spec: spec(Condition{Path: "journal._SYSTEMD_UNIT", Op: OpExists, Exists: true}),
			fields: map[string]string{"_SYSTEMD_UNIT": "x"}, text: `{"journal":{"_SYSTEMD_UNIT":"x"},` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "journal regex", spec: spec(Condition{Path: "journal.SYSLOG_IDENTIFIER", Op: OpRegex, Regex: `^flow`}),
			fields: map[string]string{"SYSLOG_IDENTIFIER": "flow-go"}, text: `{` + a + `}`, want: Match, host: "192.0.2.1"},
		{name: "id", spec: &JSONSpec{Match: []Condition{{Path: "suspicious", Op: OpEqual, Values: []any{true}}}, ID: "peer_id"},
			text: flowNoAddress, want: Match, host: "16Uiu2HAm8DhX76aoUyo5nboCeAzoaLpppmvEaK54XB2gWBYV2gUX"},
		{name: "id empty", spec: &JSONSpec{ID: "peer_id"}, text: `{"peer_id":""}`, want: NoHost},
		{name: "id too long", spec: &JSONSpec{ID: "peer_id"}, text: `{"peer_id":"` + strings.Repeat("p", 257) + `"}`, want: NoHost},
		{name: "id not a string", spec: &JSONSpec{ID: "peer_id"}, text: `{"peer_id":7}`, want: NoHost},
	})
}

func TestJSONPrefix(t *testing.T) {
	spec := flowSpec()
	spec.Prefix = `\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ flow\[\d+\]: `
	runJSONCases(t, []jsonCase{
		{name: "syslog prefix", spec: spec, text: "Jul 27 00:00:00 node flow[12]: " + flowSuspicious, want: Match, host: "103.48.249.8"},
		{name: "bare json", spec: spec, text: "  " + flowSuspicious, want: Match, host: "103.48.249.8"},
		{name: "other program", spec: spec, text: "Jul 27 00:00:00 node sshd[12]: " + flowSuspicious, want: Unparsed},
		{name: "prefix only at start", spec: spec, text: "x Jul 27 00:00:00 node flow[12]: " + flowSuspicious, want: Unparsed},
		{name: "prefix then garbage", spec: spec, text: "Jul 27 00:00:00 node flow[12]: x" + flowSuspicious, want: Unparsed},
	})
}

func TestJSONTime(t *testing.T) {
	want := time.Date(2024, 7, 27, 0, 0, 1, 0, time.UTC)
	cases := []struct {
		name string
		spec *JSONSpec
		text string
		want time.Time
	}{
		{"time", nil, `{"suspicious":true,"remote_address":"192.0.2.1","time":"2024-07-27T00:00:01Z"}`, want},
		{"ts epoch", nil, `{"suspicious":true,"remote_address":"192.0.2.1","ts":1722038401}`, want},
		{"time before ts", nil, `{"ts":1,"suspicious":true,"remote_address":"192.0.2.1","time":"2024-07-27T00:00:01Z"}`, want},
		{"timestamp", nil, `{"suspicious":true,"remote_address":"192.0.2.1","timestamp":"2024-07-27T00:00:01Z"}`, want},
		{"absent", nil, `{"suspicious":true,"remote_address":"192.0.2.1"}`, time.Time{}},
		{"unparseable", nil, `{"suspicious":true,"remote_address":"192.0.2.1","time":"yesterday","ts":1722038401}`, time.Time{}},
		{"not a string", nil, `{"suspicious":true,"remote_address":"192.0.2.1","time":true}`, time.Time{}},
		{"named nested", &JSONSpec{Host: "a", Time: "meta.at"}, `{"a":"192.0.2.1","time":"2020-01-01T00:00:00Z","meta":{"at":"2024-07-27T00:00:01Z"}}`, want},
		// What a peer writes lands in string values and nested objects: a
		// stamp there is never the record's time.
		{"stamp in a string", nil, `{"suspicious":true,"remote_address":"192.0.2.1","error":"2099-01-01T00:00:00.123456789Z","ts":1722038401}`, want},
		{"key in a string", nil, `{"suspicious":true,"remote_address":"192.0.2.1","error":"x\",\"time\":\"2099-01-01T00:00:00Z"}`, time.Time{}},
		{"nested key", nil, `{"suspicious":true,"peer":{"time":"2099-01-01T00:00:00Z"},"remote_address":"192.0.2.1"}`, time.Time{}},
		{"key in an array", nil, `{"suspicious":true,"seen":[{"ts":4070908800}],"remote_address":"192.0.2.1","time":"2024-07-27T00:00:01Z"}`, want},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if spec == nil {
				spec = flowSpec()
			}
			f, err := NewJSON("test", spec)
			if err != nil {
				t.Fatal(err)
			}
			hit, o := f.Match(&logline.Line{Text: []byte(tc.text)})
			if o != Match || !hit.Time.Equal(tc.want) {
				t.Errorf("got %v %v, want match at %v", o, hit.Time, tc.want)
			}
		})
	}
}

func TestNewJSONErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  JSONSpec
		field string // "" when the error is not a PatternError
		index int
		is    error
	}{
		{"bad prefix", JSONSpec{Prefix: "(", Host: "h"}, "prefix", 0, nil},
		{"prefix escaping its anchor", JSONSpec{Prefix: "a)|(b", Host: "h"}, "prefix", 0, nil},
		{"bad regex", JSONSpec{Match: []Condition{{Path: "a", Op: OpExists, Exists: true}, {Path: "b", Op: OpRegex, Regex: "a**"}}, Host: "h"}, "match", 1, nil},
		{"empty path", JSONSpec{Match: []Condition{{Op: OpExists}}, Host: "h"}, "match", 0, errBadPath},
		{"empty segment", JSONSpec{Match: []Condition{{Path: "a..b", Op: OpExists}}, Host: "h"}, "match", 0, errBadPath},
		{"empty journal field", JSONSpec{Match: []Condition{{Path: "journal.", Op: OpExists}}, Host: "h"}, "match", 0, errBadPath},
		{"equal needs one value", JSONSpec{Match: []Condition{{Path: "a", Op: OpEqual, Values: []any{1.0, 2.0}}}, Host: "h"}, "match", 0, errValueCount},
		{"one of needs values", JSONSpec{Match: []Condition{{Path: "a", Op: OpOneOf}}, Host: "h"}, "match", 0, errValueCount},
		{"bad value type", JSONSpec{Match: []Condition{{Path: "a", Op: OpEqual, Values: []any{[]string{"x"}}}}, Host: "h"}, "match", 0, nil},
		{"bad op", JSONSpec{Match: []Condition{{Path: "a", Op: Op(9)}}, Host: "h"}, "match", 0, errBadOp},
		{"no host", JSONSpec{Match: []Condition{{Path: "a", Op: OpExists}}}, "", 0, errNoHostField},
		{"bad host path", JSONSpec{Host: "a."}, "", 0, errBadPath},
		{"bad time path", JSONSpec{Host: "a", Time: ".t"}, "", 0, errBadPath},
		{"too many conditions", JSONSpec{Match: manyConditions(maxSlots + 1), Host: "h"}, "match", maxSlots, errTooManyPaths},
		{"too many fields", JSONSpec{Match: manyConditions(maxSlots), Host: "h"}, "", 0, errTooManyPaths},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJSON("test", &tc.spec)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			var pe *PatternError
			if got := errors.As(err, &pe); got != (tc.field != "") {
				t.Fatalf("error %v: PatternError %v, want %v", err, got, tc.field != "")
			}
			if pe != nil && (pe.Field != tc.field || pe.Index != tc.index) {
				t.Errorf("error at %s[%d], want %s[%d]", pe.Field, pe.Index, tc.field, tc.index)
			}
		})
	}
	var se *syntax.Error
	_, err := NewJSON("test", &cases[1].spec)
	if !errors.As(err, &se) {
		t.Errorf("regex error %v does not carry the syntax error", err)
	}
}

// manyConditions names n distinct paths.
func manyConditions(n int) []Condition {
	c := make([]Condition, n)
	for i := range c {
		c[i] = Condition{Path: "k" + strings.Repeat("x", i), Op: OpExists, Exists: true}
	}
	return c
}

func TestNeedle(t *testing.T) {
	n := newNeedle(`"suspicious"`)
	if n.text[n.rare] == '"' {
		t.Errorf("needle searches for the quote, the commonest byte")
	}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{`"suspicious"`, true},
		{`{"a":1,"suspicious":true}`, true},
		{`{"suspicious":true`, true},
		{`{"suspicious_peer":true}`, false},
		{`{"not_suspicious":true}`, false},
		{`picious"`, false},
		{`suspicious"`, false},
		{``, false},
		{strings.Repeat("p", 1000) + `"suspicious"`, true},
		{strings.Repeat("p", 1000) + `"suspicious`, false},
	} {
		if got := n.in([]byte(tc.text)); got != tc.want {
			t.Errorf("in(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
