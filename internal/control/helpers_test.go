package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv selects the test binary's client mode, used to connect as
// another uid (TestRefusesOtherUID).
const childEnv = "PEERJAIL_CONTROL_TEST_CLIENT"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		_, err := Client{Path: path, Timeout: 10 * time.Second}.Status(context.Background(), "")
		if err != nil {
			fmt.Print(err.Error())
		} else {
			fmt.Print("ok")
		}
		os.Exit(0)
	}
	// Serve and Close leave no goroutine behind: connections are joined.
	goleak.VerifyTestMain(m)
}

// fakeHandler records calls and answers from its fields.
type fakeHandler struct {
	mu     sync.Mutex
	calls  []string
	jails  []JailStatus
	ban    BanResult
	lifted int
	err    error         // returned by every command when set
	block  chan struct{} // when set, commands wait for it or their ctx
}

func (f *fakeHandler) record(format string, a ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
	return f.err
}

func (f *fakeHandler) wait(ctx context.Context) error {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block == nil {
		return nil
	}
	select {
	case <-block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeHandler) Status(ctx context.Context, jail string) ([]JailStatus, error) {
	if err := f.record("status %q", jail); err != nil {
		return nil, err
	}
	return f.jails, f.wait(ctx)
}

func (f *fakeHandler) Ban(ctx context.Context, jail, host string, d time.Duration, force bool) (BanResult, error) {
	if err := f.record("ban %q %q %s%s", jail, host, d, map[bool]string{true: " force"}[force]); err != nil {
		return BanResult{}, err
	}
	return f.ban, f.wait(ctx)
}

func (f *fakeHandler) Unban(ctx context.Context, jail, host string, all bool) (int, error) {
	if err := f.record("unban %q %q %t", jail, host, all); err != nil {
		return 0, err
	}
	return f.lifted, f.wait(ctx)
}

func (f *fakeHandler) Reload(ctx context.Context) error {
	if err := f.record("reload"); err != nil {
		return err
	}
	return f.wait(ctx)
}

func (f *fakeHandler) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// sockPath is short: sun_path holds 108 bytes and t.TempDir can be long.
func sockPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pjc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "peerjail.sock")
}

// serve starts a Server on a fresh socket and stops it at the end of the test.
func serve(t *testing.T, h Handler, tweak func(*Server)) (*Server, string) {
	t.Helper()
	path := sockPath(t)
	srv, err := Listen(path, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, path
}

// raw sends data as is and returns the daemon's answer, checking that the
// connection is closed after it.
func raw(t *testing.T, path string, data []byte) response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if len(data) > 0 {
		// A server that answers before reading everything may close
		// first; the answer is what matters.
		_, _ = conn.Write(data)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read answer: %v (got %q)", err, line)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("answer %q: %v", line, err)
	}
	// ECONNRESET: the daemon closed with some of data unread, as it should
	// for an oversized request.
	if rest, err := br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the answer: %q, %v; want the connection closed", rest, err)
	}
	return resp
}
