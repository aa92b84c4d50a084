package filter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// scanPaths are the paths the differential tests extract; they cover nesting,
// a path below another path's value, and non-ASCII keys.
var scanPaths = []string{"a", "b", "a.b", "a.b.c", "é", "x.y", "suspicious", "remote_address"}

func scanTree(t testing.TB) (*pathNode, map[string]*pathNode) {
	root := &pathNode{slot: -1}
	nodes := map[string]*pathNode{}
	for _, p := range scanPaths {
		f, err := parsePath(root, p)
		if err != nil {
			t.Fatal(err)
		}
		nodes[p] = f.node
	}
	root.number(0)
	return root, nodes
}

// isJSONObject is the oracle: one JSON object per encoding/json, in valid
// UTF-8 (encoding/json accepts invalid UTF-8 in strings; the filter does not).
func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b) && utf8.Valid(b)
}

// checkScan compares the scanner with encoding/json on b.
func checkScan(t *testing.T, b []byte) {
	root, nodes := scanTree(t)
	var out [maxSlots]valueSpan
	got := scanLine(b, root, out[:])
	want := isJSONObject(b)
	tooDeep := bytes.Count(b, []byte("{"))+bytes.Count(b, []byte("[")) >= maxDepth
	if got != want && !(want && tooDeep) {
		t.Fatalf("scanLine = %v, encoding/json says %v, for %q", got, want, b)
	}
	if !got {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return // a number out of float64 range: nothing to compare
	}
	for _, p := range scanPaths {
		v, ok := lookup(m, p)
		if msg := sameValue(b, out[nodes[p].slot], v, ok); msg != "" {
			t.Fatalf("path %s: %s, for %q", p, msg, b)
		}
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// sameValue describes how the scanned value s differs from the decoded v.
func sameValue(b []byte, s valueSpan, v any, present bool) string {
	if !present {
		if s.kind != kAbsent {
			return "found a value encoding/json does not have"
		}
		return ""
	}
	text := b[s.start:s.end]
	switch v := v.(type) {
	case string:
		if s.kind != kString {
			return "want a string"
		}
		if got := string(jsonUnescape(nil, text)); got != v {
			return "string " + strconv.Quote(got) + ", want " + strconv.Quote(v)
		}
		if !unescapedEqual(text, v) || unescapedEqual(text, v+"x") {
			return "unescapedEqual disagrees with the decoded string"
		}
		if s.esc != bytes.Contains(text, []byte(`\`)) {
			return "esc flag wrong"
		}
	case float64:
		if x, err := strconv.ParseFloat(string(text), 64); s.kind != kNumber || err != nil || x != v {
			return "number " + string(text) + ", want " + strconv.FormatFloat(v, 'g', -1, 64)
		}
	case bool:
		if v && s.kind != kTrue || !v && s.kind != kFalse {
			return "want a bool"
		}
	case nil:
		if s.kind != kNull {
			return "want null"
		}
	case map[string]any:
		if s.kind != kObject || !json.Valid(text) {
			return "want an object"
		}
	case []any:
		if s.kind != kArray || !json.Valid(text) {
			return "want an array"
		}
	}
	return ""
}

var scanSeeds = []string{
	`{}`,
	` {"a":1} `,
	`{"a":{"b":{"c":"x\"y"}},"b":[1,2,{"a":3}]}`,
	`{"a":{"b":1},"a":{"x":2}}`,
	`{"a":1,"a":{"b":{"c":null}}}`,
	`{"\u0061":true,"\u00e9":false,"é":"\ud83d\ude00"}`,
	`{"b":"\ud800","a":"\udc00\u0041","x":{"y":"\ud800\ud800"}}`,
	`{"b":"\/\b\f\n\r\t\\"}`,
	`{"b":-0.5e+10,"a":1E-7,"x":{"y":0}}`,
	`{"b":1e400}`,
	`{"a":[[[[{"b":1}]]]]}`,
	`{"suspicious":true,"remote_address":"[2001:db8::1]:3569"}`,
	flowDecoy,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":-}`,
	`{"a":"` + "\x01" + `"}`,
	`{"a":"` + "\xff" + `"}`,
	`{"a":"\u12"}`,
	`{"a":tru}`,
	`{"a":[1,]}`,
	`{"a":{"b":1,}}`,
	`{"a" 1}`,
	`{"a":1}}`,
	`{"a":1} {}`,
	`[]`,
	`"a"`,
	``,
	"{\"a\":1}\x00",
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
}

func TestScanDepth(t *testing.T) {
	root, _ := scanTree(t)
	var out [maxSlots]valueSpan
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{maxDepth, true}, {maxDepth + 1, false}, {100000, false}} {
		n := tc.depth - 1 // the top-level object is the first level
		line := `{"x":` + strings.Repeat(`[`, n) + strings.Repeat(`]`, n) + `}`
		if got := scanLine([]byte(line), root, out[:]); got != tc.ok {
			t.Errorf("depth %d: %v, want %v", tc.depth, got, tc.ok)
		}
		line = strings.Repeat(`{"a":`, n) + `{}` + strings.Repeat(`}`, n)
		if got := scanLine([]byte(line), root, out[:]); got != tc.ok {
			t.Errorf("depth %d along a path: %v, want %v", tc.depth, got, tc.ok)
		}
	}
}

func FuzzJSONScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScan)
}
