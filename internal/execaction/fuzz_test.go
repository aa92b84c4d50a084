package execaction

import (
	"strings"
	"testing"
)

// A configured argument is split once; whatever it holds, rendering each
// placeholder as itself gives the argument back, and a value is put in
// verbatim, never read for placeholders again.
func FuzzExpand(f *testing.F) {
	f.Add("{key}", "{jail}")
	f.Add("pre-{jail}-{action}-post", "$(rm -rf /)")
	f.Add("{ 1.2.3.4 }{}{{key}}}", "")
	f.Add("${HOME}{KEY}{k", "}")
	f.Fuzz(func(t *testing.T, s, value string) {
		a, err := parseArg(s)
		if err != nil {
			return
		}
		self := map[string]string{}
		all := map[string]string{}
		for _, n := range Placeholders {
			self[n] = "{" + n + "}"
			all[n] = value
		}
		if got := a.expand(self); got != s {
			t.Fatalf("parseArg(%q) renders back as %q", s, got)
		}
		// No placeholder is left inside literal text.
		for _, p := range a {
			if p.name != "" {
				continue
			}
			for _, n := range Placeholders {
				if strings.Contains(p.text, "{"+n+"}") {
					t.Fatalf("parseArg(%q) left {%s} in literal %q", s, n, p.text)
				}
			}
		}
		_ = a.expand(all)
	})
}
