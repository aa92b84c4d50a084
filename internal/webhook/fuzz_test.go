package webhook_test

import (
	"encoding/json"
	"testing"

	"github.com/peerjail/peerjail/internal/config"
)

// Evidence is attacker text: whatever a log line holds, the JSON Document
// and the examples' templates render valid JSON that carries it.
func FuzzBody(f *testing.F) {
	f.Add("Invalid user <!channel> from 203.0.113.7", "peer\x00\"}")
	f.Add("\xff\xfe bad utf-8 \u2028", "{{.Key}}")
	f.Add("```@everyone```", `\`)
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		d := banDecision()
		d.Evidence = []string{line1, line2}
		for _, tmpl := range []string{
			"",
			exampleTemplate(t, "../../configs/examples/webhook-slack.yaml"),
			exampleTemplate(t, "../../configs/examples/webhook-discord.yaml"),
		} {
			w := newWebhook(t, config.ActionSpec{URL: "http://127.0.0.1:1/", Template: tmpl})
			body, err := w.Body(d)
			if err != nil {
				t.Fatalf("template %q: %v", tmpl, err)
			}
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("template %q gave invalid JSON %q: %v", tmpl, body, err)
			}
		}
	})
}
