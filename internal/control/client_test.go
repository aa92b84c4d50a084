package control

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var until = time.Date(2024, 7, 27, 12, 0, 0, 0, time.UTC)

func sampleJails() []JailStatus {
	return []JailStatus{{
		Name: "sshd", Filter: "sshd", Action: "nftables", Sources: []string{"files:/var/log/auth.log"},
		Files: []string{"/var/log/auth.log"}, Journal: []string{},
		Failing: 3, TotalHits: 128, TotalBanned: 7,
		Banned:   []Banned{{Host: "203.0.113.7", Until: until, Remaining: Duration(55 * time.Minute)}},
		FindTime: Duration(10 * time.Minute), MaxRetry: 5, BanTime: Duration(time.Hour),
	}}
}

// TestRoundTrip runs every command through a real socket: what the client
// asks is what the handler gets, and what the handler answers, errors
// included, is what the client returns.
func TestRoundTrip(t *testing.T) {
	reloadErr := errors.New(`peerjail.yaml:14:5: jail "libp2p": findtime: "3x" is not a duration (e.g. 10m, 1h30m)`)
	tests := []struct {
		name    string
		h       *fakeHandler
		call    func(c Client) (any, error)
		want    any
		wantLog string
		wantErr string
	}{
		{"status all", &fakeHandler{jails: sampleJails()},
			func(c Client) (any, error) { return c.Status(context.Background(), "") },
			sampleJails(), `status ""`, ""},
		{"status none", &fakeHandler{},
			func(c Client) (any, error) { return c.Status(context.Background(), "sshd") },
			[]JailStatus{}, `status "sshd"`, ""},
		{"status unknown jail", &fakeHandler{err: errors.New(`no jail "nope"`)},
			func(c Client) (any, error) { return c.Status(context.Background(), "nope") },
			nil, `status "nope"`, `no jail "nope"`},
		{"ban for", &fakeHandler{ban: BanResult{Jail: "sshd", Host: "192.0.2.1", Until: until, Duration: Duration(time.Hour)}},
			func(c Client) (any, error) { return c.Ban(context.Background(), "sshd", "192.0.2.1", time.Hour, false) },
			BanResult{Jail: "sshd", Host: "192.0.2.1", Until: until, Duration: Duration(time.Hour)},
			`ban "sshd" "192.0.2.1" 1h0m0s`, ""},
		{"ban default length", &fakeHandler{ban: BanResult{Jail: "p2p", Host: "2001:db8::/64"}},
			func(c Client) (any, error) { return c.Ban(context.Background(), "p2p", "2001:db8::1", 0, true) },
			BanResult{Jail: "p2p", Host: "2001:db8::/64"}, `ban "p2p" "2001:db8::1" 0s force`, ""},
		{"ban refused", &fakeHandler{err: errors.New(`"not-an-address" is not an address or prefix`)},
			func(c Client) (any, error) { return c.Ban(context.Background(), "sshd", "not-an-address", 0, false) },
			nil, `ban "sshd" "not-an-address" 0s`, `"not-an-address" is not an address or prefix`},
		{"unban host", &fakeHandler{lifted: 1},
			func(c Client) (any, error) { return c.Unban(context.Background(), "sshd", "192.0.2.1", false) },
			1, `unban "sshd" "192.0.2.1" false`, ""},
		{"unban all", &fakeHandler{lifted: 0},
			func(c Client) (any, error) { return c.Unban(context.Background(), "sshd", "", true) },
			0, `unban "sshd" "" true`, ""},
		{"unban error", &fakeHandler{err: errors.New("nftables: operation not permitted")},
			func(c Client) (any, error) { return c.Unban(context.Background(), "sshd", "", true) },
			nil, `unban "sshd" "" true`, "nftables: operation not permitted"},
		{"reload", &fakeHandler{},
			func(c Client) (any, error) { return nil, c.Reload(context.Background()) },
			nil, "reload", ""},
		{"reload invalid config", &fakeHandler{err: reloadErr},
			func(c Client) (any, error) { return nil, c.Reload(context.Background()) },
			nil, "reload", reloadErr.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path := serve(t, tt.h, nil)
			got, err := tt.call(Client{Path: path})
			if tt.wantErr != "" {
				var re *RemoteError
				if !errors.As(err, &re) || err.Error() != tt.wantErr {
					t.Fatalf("error %#v, want RemoteError %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if log := tt.h.callLog(); len(log) != 1 || log[0] != tt.wantLog {
				t.Errorf("handler calls %q, want [%q]", log, tt.wantLog)
			}
		})
	}
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	for name, path := range map[string]string{
		"missing socket":    filepath.Join(dir, "none.sock"),
		"missing directory": filepath.Join(dir, "none", "peerjail.sock"),
		"nobody listening":  stale,
	} {
		t.Run(name, func(t *testing.T) {
			err := Client{Path: path}.Reload(context.Background())
			if !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want ErrNoDaemon naming %s", err, path)
			}
		})
	}
}

// TestClientContext: the caller's deadline ends a command the daemon is
// slow to answer, and the error says so.
func TestClientContext(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	_, path := serve(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Client{Path: path}.Reload(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
}

// TestClientTimeout: Client.Timeout bounds a command without a deadline.
func TestClientTimeout(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	_, path := serve(t, h, nil)
	_, err := Client{Path: path, Timeout: 50 * time.Millisecond}.Status(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") {
		t.Fatalf("got %v, want a timeout", err)
	}
}

// TestClientBadAnswers: a daemon that answers nonsense gives an error, never
// a zero result that looks like success.
func TestClientBadAnswers(t *testing.T) {
	tests := []struct{ name, answer, want string }{
		{"no answer", "", "daemon closed the connection without answering"},
		{"cut short", `{"ok":tr`, "daemon closed the connection without answering"},
		{"not json", "hello\n", "invalid character"},
		{"ok without payload", `{"ok":true}` + "\n", `daemon's answer has no "lifted"`},
		{"refusal without reason", `{"ok":false}` + "\n", "daemon refused without saying why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := sockPath(t)
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte(tt.answer))
				c.Close()
			}()
			n, err := Client{Path: path}.Unban(context.Background(), "sshd", "", true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %d, %v; want error containing %q", n, err, tt.want)
			}
		})
	}
}

func TestClientDefaults(t *testing.T) {
	if _, err := os.Stat(DefaultSocket); err == nil {
		t.Skip("a daemon may be running here")
	}
	err := Client{}.Reload(context.Background())
	if !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), DefaultSocket) {
		t.Fatalf("got %v, want ErrNoDaemon at %s", err, DefaultSocket)
	}
}
