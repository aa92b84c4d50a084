package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestActions(t *testing.T) {
	head := "jails:\n  j:\n    filter: sshd\n    source: {files: /var/log/auth.log}\n"
	for _, tc := range []struct {
		name, yaml string
		want       []ActionSpec
	}{
		{"none: nftables", head, []ActionSpec{{Type: ActionNFTables}}},
		{"shorthand", head + "    action: dry-run\n", []ActionSpec{{Type: ActionDryRun, Pos: "p.yaml:5:13"}}},
		{"defaults shorthand inherited", "defaults:\n  action: dry-run\n" + head,
			[]ActionSpec{{Type: ActionDryRun, Pos: "p.yaml:2:11"}}},
		{"jail list replaces defaults", "defaults:\n  action: dry-run\n" + head + "    actions: [nftables]\n",
			[]ActionSpec{{Type: ActionNFTables, Pos: "p.yaml:7:15"}}},
		{"every type with its defaults", head + `    actions:
      - {type: nftables}
      - {type: flow-admin, url: 'http://127.0.0.1:9002'}
      - {type: webhook, url: 'https://example.org/hook'}
      - {type: exec, ban: [/usr/sbin/ufw, deny, from, '{key}'], unban: [/usr/sbin/ufw, delete, deny, from, '{key}']}
`, []ActionSpec{
			{Type: ActionNFTables, Pos: "p.yaml:6:9"},
			{Type: ActionFlowAdmin, Pos: "p.yaml:7:9", URL: "http://127.0.0.1:9002", Timeout: 5 * time.Second, Queue: 10000},
			{Type: ActionWebhook, Pos: "p.yaml:8:9", URL: "https://example.org/hook", Timeout: 5 * time.Second, Retries: 5, Queue: 10000},
			{Type: ActionExec, Pos: "p.yaml:9:9", Ban: []string{"/usr/sbin/ufw", "deny", "from", "{key}"},
				Unban: []string{"/usr/sbin/ufw", "delete", "deny", "from", "{key}"}, Timeout: 5 * time.Second, Retries: 5, Queue: 10000, Concurrency: 4},
		}},
		{"options set", head + `    actions:
      - {type: flow-admin, url: 'http://flow.internal:9002', allow_remote: true, timeout: 2s, retries: 3, queue: 5}
      - {type: webhook, url: 'http://[::1]:8080/x', retries: 0, template: '{"text": {{.Key | slack | json}}}', headers: {Authorization: Bearer x}}
      - {type: exec, ban: [/bin/echo], concurrency: 1}
`, []ActionSpec{
			{Type: ActionFlowAdmin, Pos: "p.yaml:6:9", URL: "http://flow.internal:9002", AllowRemote: true, Timeout: 2 * time.Second, Retries: 3, Queue: 5},
			{Type: ActionWebhook, Pos: "p.yaml:7:9", URL: "http://[::1]:8080/x", Timeout: 5 * time.Second, Queue: 10000,
				Template: `{"text": {{.Key | slack | json}}}`, Headers: map[string]string{"Authorization": "Bearer x"}},
			{Type: ActionExec, Pos: "p.yaml:8:9", Ban: []string{"/bin/echo"}, Timeout: 5 * time.Second, Retries: 5, Queue: 10000, Concurrency: 1},
		}},
		{"localhost and ::1 are loopback", head + `    actions:
      - {type: flow-admin, url: 'https://localhost:9002'}
      - {type: flow-admin, url: 'http://[::1]:9002'}
`, []ActionSpec{
			{Type: ActionFlowAdmin, Pos: "p.yaml:6:9", URL: "https://localhost:9002", Timeout: 5 * time.Second, Queue: 10000},
			{Type: ActionFlowAdmin, Pos: "p.yaml:7:9", URL: "http://[::1]:9002", Timeout: 5 * time.Second, Queue: 10000},
		}},
		{"two webhooks to different URLs", head + `    actions:
      - {type: webhook, url: 'https://a.example/'}
      - {type: webhook, url: 'https://b.example/'}
`, []ActionSpec{
			{Type: ActionWebhook, Pos: "p.yaml:6:9", URL: "https://a.example/", Timeout: 5 * time.Second, Retries: 5, Queue: 10000},
			{Type: ActionWebhook, Pos: "p.yaml:7:9", URL: "https://b.example/", Timeout: 5 * time.Second, Retries: 5, Queue: 10000},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("p.yaml", []byte(tc.yaml), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Jails[0].Actions; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("actions\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestActionKeysAndNames(t *testing.T) {
	specs := []ActionSpec{{Type: ActionNFTables}, {Type: ActionFlowAdmin, URL: "http://127.0.0.1:9002"},
		{Type: ActionExec, Ban: []string{"/usr/sbin/ipset", "add", "x"}},
		{Type: ActionWebhook, URL: "https://hooks.slack.com/services/T0/B0/s3cret"}, {Type: ActionWebhook, URL: "http://127.0.0.1:8080"}}
	if got, want := ActionNames(specs), "nftables, flow-admin http://127.0.0.1:9002, exec /usr/sbin/ipset, webhook https://hooks.slack.com, webhook http://127.0.0.1:8080"; got != want {
		t.Errorf("names %q, want %q", got, want)
	}
	if got := specs[3].Key(); got != "webhook https://hooks.slack.com/services/T0/B0/s3cret" {
		t.Errorf("key %q: the store's name keeps the whole URL", got)
	}
	for _, s := range specs {
		if s.Async() != (s.Type != ActionNFTables) {
			t.Errorf("%s: async %v", s.Type, s.Async())
		}
	}
}

// An exec program's argument with shell metacharacters is kept verbatim:
// the config never splits or unquotes what the list says.
func TestExecArgumentsVerbatim(t *testing.T) {
	y := "jails:\n  j:\n    filter: sshd\n    source: {files: /x}\n    actions: [{type: exec, ban: [/bin/echo, '$(rm -rf /); `x` | y && z']}]\n"
	c, err := Parse("p.yaml", []byte(y), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Jails[0].Actions[0].Ban[1]; got != "$(rm -rf /); `x` | y && z" {
		t.Errorf("argument %q", got)
	}
	if !strings.Contains(c.Summary()[0], "action exec /bin/echo") {
		t.Errorf("summary %q", c.Summary())
	}
}
