package flowadmin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/flowadmin"
	"github.com/peerjail/peerjail/internal/flowadmin/flowadmintest"
	_ "github.com/peerjail/peerjail/internal/golden" // the module's -update flag
	"github.com/peerjail/peerjail/internal/jail"
)

// node returns a distinct node ID for n < 16*16.
func node(n int) string {
	const hex = "0123456789abcdef"
	return strings.Repeat("ab", 31) + string(hex[n/16%16]) + string(hex[n%16])
}

// peer returns a distinct secp256k1-shaped peer ID (what Flow nodes use).
func peer(n int) string {
	const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	return "16Uiu2HAm" + strings.Repeat("x", 42) + string(b58[n/58%58]) + string(b58[n%58])
}

func newServer(t *testing.T) *flowadmintest.Server {
	t.Helper()
	s := flowadmintest.New()
	t.Cleanup(s.Close)
	return s
}

func newAction(t *testing.T, url string) *flowadmin.Action {
	t.Helper()
	a, err := flowadmin.NewAction(config.ActionSpec{Type: config.ActionFlowAdmin, URL: url, Timeout: 5 * time.Second}, action.Env{Jail: "flow-byzantine"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func ban(key string) jail.Decision {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return jail.Decision{Action: jail.ActionBan, Jail: "flow-byzantine", Key: jail.Key{ID: key}, At: at, Until: at.Add(time.Hour), Duration: time.Hour, Hits: 3, Offences: 1}
}

func unban(key string) jail.Decision {
	return jail.Decision{Action: jail.ActionUnban, Jail: "flow-byzantine", Key: jail.Key{ID: key}, At: time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)}
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func wantBlocklist(t *testing.T, s *flowadmintest.Server, want ...string) {
	t.Helper()
	if got := s.Blocklist(); !slices.Equal(got, sorted(want...)) {
		t.Errorf("blocklist = %v, want %v", got, sorted(want...))
	}
}

// The example: the operator's own entries stay through a ban and
// an unban; a peer ID is blocked as its node ID; a batch is one read and
// one write.
func TestBanUnbanKeepsOperatorEntries(t *testing.T) {
	s := newServer(t)
	op1, op2 := strings.ToUpper(node(200)), node(201) // flow-go accepts either case
	s.SetBlocklist(op1, op2)
	s.SetIdentity(peer(1), flowadmintest.Identity{NodeID: node(1), Role: "execution"})
	a := newAction(t, s.URL())
	ctx := t.Context()

	if err := a.Apply(ctx, []jail.Decision{ban(node(2)), ban(peer(1))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, strings.ToLower(op1), op2, node(1), node(2))
	if g, w := [2]int{s.Calls("get-config"), s.Calls("set-config")}, [2]int{1, 1}; g != w {
		t.Errorf("get-config, set-config calls = %v, want %v (one batch, one read, one write)", g, w)
	}

	if err := a.Apply(ctx, []jail.Decision{unban(node(2))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, strings.ToLower(op1), op2, node(1))
	if err := a.Apply(ctx, []jail.Decision{unban(peer(1))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, strings.ToLower(op1), op2)
	if n := s.Calls("get-latest-identity"); n != 1 {
		t.Errorf("get-latest-identity calls = %d, want 1 (the unban uses the remembered mapping)", n)
	}
}

func TestAlreadyHeldWritesNothing(t *testing.T) {
	s := newServer(t)
	s.SetBlocklist(node(1))
	a := newAction(t, s.URL())
	if err := a.Apply(t.Context(), []jail.Decision{ban(node(1)), unban(node(9))}); err != nil {
		t.Fatal(err)
	}
	if n := s.Calls("set-config"); n != 0 {
		t.Errorf("set-config calls = %d, want 0: a ban of a listed ID and an unban of an unlisted one change nothing", n)
	}
	wantBlocklist(t, s, node(1))
}

// Decisions apply in order within a batch: a ban then its unban leaves the
// ID off, and a ban never lists an ID twice.
func TestBatchOrder(t *testing.T) {
	s := newServer(t)
	a := newAction(t, s.URL())
	err := a.Apply(t.Context(), []jail.Decision{ban(node(1)), ban(node(1)), ban(node(2)), unban(node(2))})
	if err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, node(1))
}

// After a restart nothing is remembered: the unban of a peer ID asks the
// node again, which still knows a blocked node's peer ID.
func TestUnbanPeerAfterRestart(t *testing.T) {
	s := newServer(t)
	s.SetIdentity(peer(7), flowadmintest.Identity{NodeID: node(7), Role: "verification"})
	if err := newAction(t, s.URL()).Apply(t.Context(), []jail.Decision{ban(peer(7))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, node(7))
	if err := newAction(t, s.URL()).Apply(t.Context(), []jail.Decision{unban(peer(7))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s)
	if n := s.Calls("get-latest-identity"); n != 2 {
		t.Errorf("get-latest-identity calls = %d, want 2", n)
	}
}

// One unmappable peer ID among several decisions fails alone.
func TestPartialFailure(t *testing.T) {
	s := newServer(t)
	s.SetIdentity(peer(1), flowadmintest.Identity{NodeID: node(1)})
	a := newAction(t, s.URL())
	err := a.Apply(t.Context(), []jail.Decision{ban(peer(1)), ban(peer(2)), ban(node(3))})
	var f *action.Failed
	if !errors.As(err, &f) {
		t.Fatalf("Apply = %v, want *action.Failed", err)
	}
	if !slices.Equal(f.Index, []int{1}) {
		t.Errorf("failed indexes = %v, want [1]", f.Index)
	}
	var ce *flowadmin.CommandError
	if !errors.As(f.Errs[0], &ce) || ce.Command != "get-latest-identity" || ce.HTTPStatus != 500 || ce.Code != 2 ||
		!strings.Contains(ce.Message, "no identity found for peer ID") {
		t.Errorf("error = %v, want get-latest-identity's HTTP 500 code 2 'no identity found'", f.Errs[0])
	}
	wantBlocklist(t, s, node(1), node(3))
}

// An operator who edits the list between peerjail's read and write keeps
// their edit.
func TestConcurrentOperatorEdit(t *testing.T) {
	s := newServer(t)
	s.SetBlocklist(node(100))
	first := true
	s.OnCommand(func(cmd string) {
		if cmd == "set-config" && first {
			first = false
			s.SetBlocklist(node(100), node(101))
		}
	})
	a := newAction(t, s.URL())
	if err := a.Apply(t.Context(), []jail.Decision{ban(node(1))}); err != nil {
		t.Fatal(err)
	}
	wantBlocklist(t, s, node(100), node(101), node(1))
}

func TestHeld(t *testing.T) {
	s := newServer(t)
	s.SetBlocklist(node(5), node(4))
	a := newAction(t, s.URL()+"/admin/run_command") // the endpoint itself is a URL too
	held, err := a.Held(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []action.Held{{Jail: "flow-byzantine", Key: node(4)}, {Jail: "flow-byzantine", Key: node(5)}}
	if !slices.Equal(held, want) {
		t.Errorf("Held = %v, want %v", held, want)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name    string
		command string
		status  int
		body    string
		check   func(error) bool
	}{
		{"unknown command", "get-config", 501, `{"code":12,"message":"invalid command","details":[]}`, isCommandError(501, 12)},
		{"bad data", "get-config", 400, `{"code":3,"message":"unknown config field: x","details":[]}`, isCommandError(400, 3)},
		{"handler error", "set-config", 500, `{"code":2,"message":"config update failed","details":[]}`, isCommandError(500, 2)},
		{"proxy error page", "get-config", 502, `<html>bad gateway</html>`, isCommandError(502, -1)},
		{"not json", "get-config", 200, `ok`, isMalformed},
		{"no output", "get-config", 200, `{}`, isMalformed},
		{"list of numbers", "get-config", 200, `{"output":[1,2]}`, isMalformed},
		{"short id", "get-config", 200, `{"output":["abcd"]}`, isMalformed},
		{"set output a string", "set-config", 200, `{"output":"done"}`, isMalformed},
		{"set output without oldValue", "set-config", 200, `{"output":{"newValue":[]}}`, isMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t)
			s.SetBlocklist(node(100))
			s.Reply(c.command, c.status, c.body)
			err := newAction(t, s.URL()).Apply(t.Context(), []jail.Decision{ban(node(1)), ban(node(2))})
			var f *action.Failed
			if err == nil || errors.As(err, &f) {
				t.Fatalf("Apply = %v, want a plain error (no decision took effect)", err)
			}
			if !c.check(err) {
				t.Errorf("Apply = %v, not the expected kind", err)
			}
			if c.command == "get-config" && s.Calls("set-config") != 0 {
				t.Error("set-config was called after get-config failed: it would drop the operator's entries")
			}
		})
	}
}

func isCommandError(status, code int) func(error) bool {
	return func(err error) bool {
		var ce *flowadmin.CommandError
		return errors.As(err, &ce) && ce.HTTPStatus == status && ce.Code == code
	}
}

func isMalformed(err error) bool { return errors.Is(err, flowadmin.ErrMalformed) }

func TestServerDown(t *testing.T) {
	s := flowadmintest.New()
	a := newAction(t, s.URL())
	s.Close()
	err := a.Apply(t.Context(), []jail.Decision{ban(node(1))})
	if err == nil || !strings.Contains(err.Error(), "get-config") {
		t.Errorf("Apply = %v, want get-config's connection error", err)
	}
	if _, err := a.Held(t.Context()); err == nil {
		t.Error("Held with the server down succeeded")
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	a, err := flowadmin.NewAction(config.ActionSpec{URL: hang.URL, Timeout: 50 * time.Millisecond}, action.Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Apply(t.Context(), []jail.Decision{ban(node(1))})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Apply = %v, want a deadline error", err)
	}
}

func TestNewURL(t *testing.T) {
	cases := []struct {
		url    string
		remote bool
		want   string // in the error; "" for none
	}{
		{"http://127.0.0.1:9002", false, ""},
		{"http://localhost:9002", false, ""},
		{"http://[::1]:9002/", false, ""},
		{"https://127.0.0.2:9002", false, ""},
		{"http://10.0.0.5:9002", false, "allow_remote: true"},
		{"http://flow-node.example.org:9002", false, "allow_remote: true"},
		{"http://10.0.0.5:9002", true, ""},
		{"127.0.0.1:9002", false, "want http://"},
		{"ftp://127.0.0.1:9002", false, "want http://"},
		{"http://127.0.0.1:9002/?x=1", false, "query"},
	}
	for _, c := range cases {
		_, err := flowadmin.New(config.ActionSpec{URL: c.url, AllowRemote: c.remote}, action.Env{})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("New(%q) = %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("New(%q, allow_remote %v) = %v, want an error mentioning %q", c.url, c.remote, err, c.want)
		}
	}
}

func TestNameAndTakes(t *testing.T) {
	a := newAction(t, "http://admin:secret@127.0.0.1:9002")
	if n := a.Name(); n != "flow-admin http://admin:xxxxx@127.0.0.1:9002" {
		t.Errorf("Name = %q", n)
	}
	for key, want := range map[string]bool{
		node(1): true, strings.ToUpper(node(1)): true, peer(1): true,
		"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA": true,
		"QmNqszdfyEZmMCXcnoUdBDWboFvVLF5reyKPuiqFQT77Vw":       true,
		"42": false, node(1)[:63]: false, "16Uiu2HAm0OIl" + strings.Repeat("x", 40): false,
	} {
		if got := a.Takes(jail.Key{ID: key}); got != want {
			t.Errorf("Takes(%q) = %v, want %v", key, got, want)
		}
	}
	if a.Takes(jail.Key{}) {
		t.Error("Takes the zero key")
	}
}

// The test server answers what flow-go's admin server answers to commands
// peerjail never sends, so a client that got them wrong would see it.
func TestServerFlowErrors(t *testing.T) {
	s := newServer(t)
	cases := []struct{ body, want string }{
		{`{"commandName":"no-such-command"}`, `501 {"code":12,"details":[],"message":"invalid command"}`},
		{`{"commandName":"get-config","data":{"x":1}}`, `400 {"code":3,"details":[],"message":"invalid request data format: the data field must be a string"}`},
		{`{"commandName":"set-config","data":{"network-id-provider-blocklist":"x"}}`, `500 {"code":2,"details":[],"message":"config update failed due to invalid input: invalid type for IdentifierList config: string"}`},
		{`{"commandName":"get-latest-identity","data":{}}`, `400 {"code":3,"details":[],"message":"either \"flow_id\" or \"peer_id\" field is required"}`},
		{`{"commandName":"get-config","data":"network-id-provider-blocklist"}`, `200 {"output":[]}`},
	}
	for _, c := range cases {
		resp, err := http.Post(s.URL()+"/admin/run_command", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Status[:3] + " " + string(b); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.body, got, c.want)
		}
	}
}
