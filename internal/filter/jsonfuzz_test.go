package filter

import (
	"bytes"
	"sync"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// fuzzFilters exercise every part of Match: values of each type, regexes,
// nested paths, escaped keys, a prefix, identities and journal fields. They
// are compiled once: the fuzzer calls checkMatch millions of times.
var fuzzFilters = sync.OnceValues(func() ([]*JSONFilter, error) {
	specs := []*JSONSpec{
		flowSpec(),
		{
			Prefix: `[a-z]+\[\d+\]: `,
			Match: []Condition{
				{Path: "a.b", Op: OpOneOf, Values: []any{"x", 1.5, false, nil}},
				{Path: "é", Op: OpRegex, Regex: `^\d`},
				{Path: "c", Op: OpExists, Exists: false},
			},
			Host: "h.v",
			Time: "t",
		},
		{
			Match: []Condition{
				{Path: "journal.U", Op: OpEqual, Values: []any{"u"}},
				{Path: "a", Op: OpExists, Exists: true},
			},
			ID: "id",
		},
	}
	fs := make([]*JSONFilter, len(specs))
	for i, s := range specs {
		f, err := NewJSON("fuzz", s)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return fs, nil
})

// checkMatch runs every fuzz filter on b, with and without the pre-check,
// and checks what must hold whatever the input.
func checkMatch(t *testing.T, b []byte) {
	line := &logline.Line{Text: b, Fields: map[string]string{"U": "u"}}
	valid := isJSONObject(b)
	fs, err := fuzzFilters()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		hit, got := f.Match(line)
		if got == Match && !hit.Host.IsValid() {
			t.Fatalf("filter %d: match without a host for %q", i, b)
		}
		if got == Unparsed && valid && len(b) <= maxJSONLine && f.prefix == nil &&
			bytes.Count(b, []byte("{"))+bytes.Count(b, []byte("[")) < maxDepth {
			t.Fatalf("filter %d: valid object unparsed: %q", i, b)
		}
		full := *f
		full.needles = nil
		fullHit, want := full.Match(line)
		if got != want && !(got == Miss && want == Unparsed) {
			t.Fatalf("filter %d: pre-check changed %v to %v for %q", i, want, got, b)
		}
		if got == want && hit != fullHit {
			t.Fatalf("filter %d: pre-check changed hit %+v to %+v for %q", i, fullHit, hit, b)
		}
	}
}

func FuzzJSONFilter(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		flowSuspicious, flowV6, flowNoAddress,
		`{"suspici\u006fus":true,"remote_address":"198.51.100.7"}`,
		`p[1]: {"a":{"b":null},"\u00e9":"7","h":{"v":"[::1]:1"},"t":"2024-07-27T00:00:00Z"}`,
		`{"a":0,"id":"16Uiu2HAm"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkMatch)
}
