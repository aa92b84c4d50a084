package config

import (
	"errors"
	"reflect"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
)

func TestParseFilterFile(t *testing.T) {
	spec, err := ParseFilterFile("testdata/filters/my-service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := filter.Spec{
		Name:        "my-service",
		Description: "failed logins of my service",
		Regex: &filter.RegexSpec{
			Fail:   []string{"Failed login from <HOST>", "Rejected peer <ID>"},
			Ignore: []string{"from <HOST> port 22 trusted"},
		},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("got %+v\nwant %+v", spec, want)
	}
	if _, err := filter.New(spec); err != nil {
		t.Errorf("the parsed spec does not compile: %v", err)
	}
}

func TestParseFilterFileErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/filters/broken.yaml",
			`testdata/filters/broken.yaml:6:3: filter "broken": regex.ignre: unknown key (did you mean ignore? known keys: fail, ignore, learn, self)`},
		{"testdata/filters/broken-json.yaml",
			"testdata/filters/broken-json.yaml:4:18: filter \"broken-json\": json.match.msg.regex: error parsing regexp: missing closing ): `(unclosed`"},
		{"testdata/filters/missing.yaml", ""},
	} {
		_, err := ParseFilterFile(tc.file)
		if tc.want == "" {
			if err == nil || errors.Is(err, ErrInvalid) {
				t.Errorf("%s: got %v, want a read error that is not ErrInvalid", tc.file, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s:\ngot  %v\nwant %s", tc.file, err, tc.want)
		}
	}
}

// TestFilterCompileErrorPointsAtPattern checks that a pattern the filter
// package refuses is reported at that pattern, not at the filter.
func TestFilterCompileErrorPointsAtPattern(t *testing.T) {
	data := "filters:\n  f:\n    regex:\n      fail:\n        - 'a <HOST>'\n        - 'b <HOST> <HOST>'\n" +
		"jails:\n  a: {filter: f}\n"
	_, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
	var e *Error
	if !errors.As(err, &e) || e.Line != 6 || e.Column != 11 || e.Key != "regex.fail[1]" || e.Scope != `filter "f"` {
		t.Errorf("got %v (%+v), want it at 6:11 regex.fail[1]", err, e)
	}
}

func TestStockFiltersParse(t *testing.T) {
	stock, err := StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"libp2p-peer-status", "sshd", "flow-suspicious"} {
		if s, ok := stock[name]; !ok || s.Name != name || (s.Regex == nil) == (s.JSON == nil) {
			t.Errorf("stock filter %q: %+v", name, s)
		}
	}
}
