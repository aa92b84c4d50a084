package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// padded is a valid status request of exactly n bytes, newline included.
func padded(n int) []byte {
	head, tail := `{"cmd":"status"`, "}\n"
	return []byte(head + strings.Repeat(" ", n-len(head)-len(tail)) + tail)
}

// TestBadRequests: whatever a client sends, it gets an error answer naming
// the problem, and the handler is not called.
func TestBadRequests(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("status please\n"), "bad request: invalid character"},
		{"binary", []byte("\x00\xff\xfe\x01\n"), "bad request: not UTF-8 text"},
		{"binary utf-8", []byte("\x00\x01\x02\n"), "bad request: invalid character"},
		{"empty line", []byte("\n"), "bad request: EOF"},
		{"array", []byte(`[1,2]` + "\n"), "bad request: json: cannot unmarshal array"},
		{"null", []byte("null\n"), `unknown command ""`},
		{"unknown command", []byte(`{"cmd":"explode"}` + "\n"), `unknown command "explode"`},
		{"unknown field", []byte(`{"cmd":"ban","jail":"j","host":"h","forr":"1h"}` + "\n"), `unknown field "forr"`},
		{"trailing data", []byte(`{"cmd":"reload"} {"cmd":"reload"}` + "\n"), "data after the JSON object"},
		{"ban without host", []byte(`{"cmd":"ban","jail":"sshd"}` + "\n"), "ban needs a jail and a host"},
		{"ban bad length", []byte(`{"cmd":"ban","jail":"j","host":"h","for":"3x"}` + "\n"), `duration "3x"`},
		{"ban length as number", []byte(`{"cmd":"ban","jail":"j","host":"h","for":3600}` + "\n"), "cannot unmarshal number"},
		{"ban negative", []byte(`{"cmd":"ban","jail":"j","host":"h","for":"-1h"}` + "\n"), "must be positive"},
		{"unban forced", []byte(`{"cmd":"unban","jail":"j","host":"h","force":true}` + "\n"), "either a host or all"},
		{"unban neither", []byte(`{"cmd":"unban","jail":"j"}` + "\n"), "either a host or all"},
		{"unban both", []byte(`{"cmd":"unban","jail":"j","host":"h","all":true}` + "\n"), "either a host or all"},
		{"unban without jail, neither", []byte(`{"cmd":"unban"}` + "\n"), "either a host or all"},
		{"status with host", []byte(`{"cmd":"status","host":"h"}` + "\n"), "status takes only a jail"},
		{"reload with jail", []byte(`{"cmd":"reload","jail":"j"}` + "\n"), "reload takes no arguments"},
		{"one byte too large", padded(MaxRequest + 1), "request larger than 64 KiB"},
		{"far too large", bytes.Repeat([]byte("a"), 4*MaxRequest), "request larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			_, path := serve(t, h, nil)
			resp := raw(t, path, tt.data)
			if resp.OK || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("answer %+v, want an error containing %q", resp, tt.want)
			}
			if calls := h.callLog(); len(calls) != 0 {
				t.Errorf("handler called: %q", calls)
			}
		})
	}
}

// TestRequestFraming: the largest allowed request works, and so does one
// ended by EOF instead of a newline (socat, nc).
func TestRequestFraming(t *testing.T) {
	h := &fakeHandler{}
	_, path := serve(t, h, nil)
	if resp := raw(t, path, padded(MaxRequest)); !resp.OK {
		t.Errorf("request of exactly %d bytes: %+v", MaxRequest, resp)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte(`{"cmd":"reload"}`))
	_ = conn.CloseWrite()
	answer, err := io.ReadAll(conn)
	if err != nil || string(answer) != `{"ok":true}`+"\n" {
		t.Errorf("request ended by EOF: %q, %v", answer, err)
	}
}

// TestIdleClientDropped: a client that connects and says nothing is told
// so and disconnected once the deadline passes.
func TestIdleClientDropped(t *testing.T) {
	h := &fakeHandler{}
	_, path := serve(t, h, func(s *Server) { s.Timeout = 50 * time.Millisecond })
	resp := raw(t, path, nil)
	if resp.OK || resp.Error != "timed out waiting for a request" {
		t.Errorf("answer %+v, want the timeout error", resp)
	}
}

func TestConcurrentClients(t *testing.T) {
	h := &fakeHandler{jails: sampleJails(), lifted: 2}
	_, path := serve(t, h, nil)
	const clients, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for i := range clients {
		wg.Go(func() {
			c := Client{Path: path}
			for j := range each {
				var err error
				switch (i + j) % 3 {
				case 0:
					var st []JailStatus
					if st, err = c.Status(context.Background(), ""); err == nil && len(st[0].Banned) != 1 {
						err = fmt.Errorf("status %+v", st)
					}
				case 1:
					var n int
					if n, err = c.Unban(context.Background(), "sshd", fmt.Sprint(i, j), false); err == nil && n != 2 {
						err = fmt.Errorf("unban lifted %d", n)
					}
				default:
					_, err = c.Ban(context.Background(), "sshd", fmt.Sprint(i, j), time.Minute, false)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(h.callLog()); n != clients*each {
		t.Errorf("handler saw %d calls, want %d", n, clients*each)
	}
}

func TestSocketFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "peerjail")
	path := filepath.Join(dir, "peerjail.sock")
	srv, err := Listen(path, &fakeHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, fs.ModeDir|0o700)
	assertMode(t, path, fs.ModeSocket|0o600)
	if fi, _ := os.Stat(path); fi != nil && fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Errorf("socket owned by uid %d, want %d", fi.Sys().(*syscall.Stat_t).Uid, os.Geteuid())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if err := (Client{Path: path}).Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after shutdown: %v", err)
	}
	if err := (Client{Path: path}).Reload(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("after shutdown: %v, want ErrNoDaemon", err)
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

// TestShutdownWithIdleClient: shutting down does not wait for an idle
// client's deadline, and the handler is never called after Serve returns.
func TestShutdownWithIdleClient(t *testing.T) {
	path := sockPath(t)
	srv, err := Listen(path, &fakeHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Accept is in order: once this answers, the idle client is being served.
	if err := (Client{Path: path}).Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve still waiting for an idle client")
	}
}

func TestCloseBeforeServe(t *testing.T) {
	path := sockPath(t)
	srv, err := Listen(path, &fakeHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	if err := srv.Serve(context.Background()); err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := sockPath(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false) // as a crashed daemon leaves it
	ln.Close()
	h := &fakeHandler{}
	srv, err := Listen(path, h, nil)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer srv.Close()
	go srv.Serve(context.Background())
	if err := (Client{Path: path}).Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSecondListenFails: a second daemon cannot steal a live socket, and
// the first keeps answering.
func TestSecondListenFails(t *testing.T) {
	_, path := serve(t, &fakeHandler{}, nil)
	_, err := Listen(path, &fakeHandler{}, nil)
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Listen: %v, want ErrAlreadyRunning naming %s", err, path)
	}
	if err := (Client{Path: path}).Reload(context.Background()); err != nil {
		t.Errorf("first daemon after the attempt: %v", err)
	}
}

func TestListenKeepsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peerjail.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, &fakeHandler{}, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Errorf("file after Listen: %q, %v", b, err)
	}
}

// TestRefusesOtherUID connects as nobody: the file mode stops it at
// connect time; with the mode loosened, the SO_PEERCRED check behind it
// refuses it.
func TestRefusesOtherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	h := &fakeHandler{}
	_, path := serve(t, h, nil)
	dir := filepath.Dir(path)
	bin := filepath.Join(dir, "control.test")
	copyExecutable(t, bin)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if got := runAsNobody(t, bin, path); !strings.HasSuffix(got, "connect: permission denied (the control socket is for root)") {
		t.Errorf("uid 65534 with mode 0600 got %q, want connect refused", got)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	if got := runAsNobody(t, bin, path); got != errNotRoot.Error() {
		t.Errorf("uid 65534 with mode 0777 got %q, want %q", got, errNotRoot)
	}
	if calls := h.callLog(); len(calls) != 0 {
		t.Errorf("handler called for uid 65534: %q", calls)
	}
}

// runAsNobody runs the test binary's client mode (TestMain) as uid 65534
// and returns what it printed: "ok" or the error's text.
func runAsNobody(t *testing.T, bin, path string) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("client process: %v: %s", err, exitErr.Stderr)
	}
	if err != nil {
		t.Skipf("cannot run a process as uid 65534 here: %v", err)
	}
	return string(out)
}

// copyExecutable puts the test binary where uid 65534 may run it.
func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// A well-formed request with wrong values (a negative ban length) is the
// operator's mistake: it is marked invalid, so the CLI exits 2, not 1.
func TestWrongValuesAreInvalid(t *testing.T) {
	_, path := serve(t, &fakeHandler{}, nil)
	for _, data := range []string{
		`{"cmd":"ban","jail":"j","host":"h","for":"-5m"}`,
		`{"cmd":"unban","jail":"j","host":"h","force":true}`,
	} {
		if resp := raw(t, path, []byte(data+"\n")); resp.OK || !resp.Invalid {
			t.Errorf("%s: answer %+v, want an invalid-input refusal", data, resp)
		}
	}
	// Broken framing is not the operator's typo: it stays a plain error.
	if resp := raw(t, path, []byte("status please\n")); resp.OK || resp.Invalid {
		t.Errorf("garbage: answer %+v, want a plain error", resp)
	}
}
