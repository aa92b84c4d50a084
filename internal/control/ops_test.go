package control

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// opsHandler is a fakeHandler that also lists failing hosts and keeps a
// log level, as the daemon does.
type opsHandler struct {
	fakeHandler
	level slog.LevelVar
}

func (o *opsHandler) StatusTop(ctx context.Context, jail string, top int) ([]JailStatus, error) {
	if err := o.record("status %q top %d", jail, top); err != nil {
		return nil, err
	}
	return o.jails, nil
}

func (o *opsHandler) LogLevel(_ context.Context, level string) (string, error) {
	if err := o.record("log-level %q", level); err != nil {
		return "", err
	}
	if level != "" {
		l, err := ParseLogLevel(level)
		if err != nil {
			return "", err
		}
		o.level.Set(l)
	}
	return LevelName(o.level.Level()), nil
}

func TestStatusTopAndLogLevel(t *testing.T) {
	h := &opsHandler{}
	h.jails = []JailStatus{{Name: "sshd", FailingHosts: []FailingHost{{Host: "192.0.2.1", Hits: 3}}}}
	_, path := serve(t, h, nil)
	c := Client{Path: path}
	ctx := context.Background()
	st, err := c.StatusTop(ctx, "sshd", 5)
	if err != nil || len(st) != 1 || len(st[0].FailingHosts) != 1 || st[0].FailingHosts[0].Hits != 3 {
		t.Fatalf("StatusTop: %+v, %v", st, err)
	}
	if _, err := c.Status(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ set, want string }{{"", "info"}, {"debug", "debug"}, {"", "debug"}, {"WARN", "warn"}} {
		got, err := c.LogLevel(ctx, tt.set)
		if err != nil || got != tt.want {
			t.Errorf("LogLevel(%q) = %q, %v; want %q", tt.set, got, err, tt.want)
		}
	}
	want := []string{`status "sshd" top 5`, `status "" top 0`, `log-level ""`, `log-level "debug"`, `log-level ""`, `log-level "WARN"`}
	if got := h.callLog(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// A handler without the optional commands: status works as before, and
// log-level says it cannot.
func TestOpsWithoutOptionalHandlers(t *testing.T) {
	h := &fakeHandler{}
	_, path := serve(t, h, nil)
	c := Client{Path: path}
	if _, err := c.StatusTop(context.Background(), "sshd", 10); err != nil {
		t.Fatal(err)
	}
	_, err := c.LogLevel(context.Background(), "debug")
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "cannot be changed") {
		t.Errorf("log-level: %v, want the daemon's refusal", err)
	}
}

func TestOpsBadRequests(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"top without jail", `{"cmd":"status","top":3}`, "name the jail"},
		{"negative top", `{"cmd":"status","jail":"j","top":-1}`, "want 0 to 10000 hosts"},
		{"top too large", `{"cmd":"status","jail":"j","top":10001}`, "want 0 to 10000 hosts"},
		{"top on ban", `{"cmd":"ban","jail":"j","host":"h","top":3}`, "ban takes no top"},
		{"level on status", `{"cmd":"status","level":"debug"}`, "status takes no level"},
		{"unknown level", `{"cmd":"log-level","level":"verbose"}`, `log level "verbose": want one of debug, info, warn, error`},
		{"level offset", `{"cmd":"log-level","level":"debug+2"}`, `want one of debug`},
		{"log-level with jail", `{"cmd":"log-level","jail":"j"}`, "log-level takes only a level"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &opsHandler{}
			_, path := serve(t, h, nil)
			resp := raw(t, path, []byte(tt.data+"\n"))
			if resp.OK || !resp.Invalid || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("answer %+v, want an invalid-input error containing %q", resp, tt.want)
			}
			if calls := h.callLog(); len(calls) != 0 {
				t.Errorf("handler called: %q", calls)
			}
		})
	}
}
