package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/execaction"
	"github.com/peerjail/peerjail/internal/webhook"
)

// What loading accepts, the backends accept at start: the exec
// placeholders and the webhook template helpers are the backends' own.
func TestConfigAgreesWithBackends(t *testing.T) {
	if !slices.Equal(config.ExecPlaceholders, execaction.Placeholders) {
		t.Errorf("config.ExecPlaceholders %v, execaction.Placeholders %v", config.ExecPlaceholders, execaction.Placeholders)
	}
	for _, name := range config.WebhookTemplateFuncs {
		tmpl := "{{" + name + " .Key}}"
		if name == "truncate" || name == "join" {
			tmpl = "{{" + name + " 3 .Key}}"
		}
		spec := config.ActionSpec{Type: config.ActionWebhook, URL: "http://127.0.0.1:1/x", Template: tmpl}
		if _, err := webhook.New(spec, action.Env{Jail: "j"}); err != nil && strings.Contains(err.Error(), "not defined") {
			t.Errorf("helper %s: %v", name, err)
		}
	}
}
