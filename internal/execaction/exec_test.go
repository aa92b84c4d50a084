package execaction_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/execaction"
	_ "github.com/peerjail/peerjail/internal/golden" // the module's -update flag
	"github.com/peerjail/peerjail/internal/jail"
)

func self(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func newExec(t *testing.T, spec config.ActionSpec) *execaction.Exec {
	t.Helper()
	spec.Type = config.ActionExec
	e, err := execaction.NewExec(spec, action.Env{Jail: "ssh"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

var at = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ban(key jail.Key) jail.Decision {
	return jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: key, At: at, Until: at.Add(time.Hour), Duration: time.Hour, Hits: 5, Offences: 2}
}

func addr(s string) jail.Key { return jail.Key{Prefix: netip.PrefixFrom(netip.MustParseAddr(s), 32)} }

func readRecord(t *testing.T, path string) record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Shell metacharacters in the config and in the decision reach the program
// as they are: nothing runs them, nothing expands them twice.
func TestArgumentsVerbatim(t *testing.T) {
	dir := t.TempDir()
	out, marker := filepath.Join(dir, "record.json"), filepath.Join(dir, "x")
	hostile := `$(touch ` + marker + `); rm -rf / ; "quoted" | pipe` + " `touch " + marker + "` > " + marker
	e := newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "record", out,
		"{key}", hostile, "pre-{jail}-{action}-post", "{addrs}", "{until}", "{duration}", "{offences}", "{ 1.2.3.4 }", "${HOME}", "*"}})
	d := ban(jail.Key{ID: "{jail}$(touch " + marker + ")"})
	d.Addrs = []netip.Prefix{netip.MustParsePrefix("198.51.100.4/32"), netip.MustParsePrefix("2001:db8::/64")}
	if err := e.Apply(t.Context(), []jail.Decision{d}); err != nil {
		t.Fatal(err)
	}
	r := readRecord(t, out)
	want := []string{"{jail}$(touch " + marker + ")", hostile, "pre-ssh-ban-post", "198.51.100.4,2001:db8::/64",
		"2026-12-01T13:00:00Z", "3600", "2", "{ 1.2.3.4 }", "${HOME}", "*"}
	if !slices.Equal(r.Args, want) {
		t.Errorf("arguments:\n got %q\nwant %q", r.Args, want)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("%s exists: a shell ran the arguments", marker)
	}
	wantEnv := []string{
		"PEERJAIL_JAIL=ssh", "PEERJAIL_KEY={jail}$(touch " + marker + ")", "PEERJAIL_ACTION=ban",
		"PEERJAIL_AT=2026-12-01T12:00:00Z", "PEERJAIL_UNTIL=2026-12-01T13:00:00Z", "PEERJAIL_DURATION=3600",
		"PEERJAIL_ADDRS=198.51.100.4,2001:db8::/64", "PEERJAIL_HITS=5", "PEERJAIL_OFFENCES=2", "PATH=" + os.Getenv("PATH"),
	}
	if !slices.Equal(r.Env, wantEnv) {
		t.Errorf("environment:\n got %q\nwant %q", r.Env, wantEnv)
	}
}

func TestUnban(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "record.json")
	e := newExec(t, config.ActionSpec{
		Ban:   []string{self(t), helperArg, "fail", "1"},
		Unban: []string{self(t), helperArg, "record", out, "{action}", "{key}", "{until}|{duration}|{offences}"},
	})
	un := jail.Decision{Action: jail.ActionUnban, Jail: "ssh", Key: addr("203.0.113.7"), At: at}
	if err := e.Apply(t.Context(), []jail.Decision{un}); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, out).Args; !slices.Equal(got, []string{"unban", "203.0.113.7", "||"}) {
		t.Errorf("unban arguments %q", got)
	}

	// Without an unban program an unban runs nothing and succeeds.
	e = newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "fail", "1"}})
	if err := e.Apply(t.Context(), []jail.Decision{un}); err != nil {
		t.Errorf("unban without a program: %v", err)
	}
}

func TestExitStatus(t *testing.T) {
	e := newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "fail", "3"}})
	err := e.Apply(t.Context(), []jail.Decision{ban(addr("203.0.113.7"))})
	var x *execaction.ExitError
	if !errors.As(err, &x) {
		t.Fatalf("Apply = %v, want an *ExitError", err)
	}
	if x.Code != 3 || len(x.Stderr) != 200 || !strings.HasSuffix(string(x.Stderr), "the end") {
		t.Errorf("exit %d, stderr %q: want 3 and the last 200 bytes", x.Code, x.Stderr)
	}
	if !strings.Contains(err.Error(), "203.0.113.7") || !strings.Contains(err.Error(), "status 3") {
		t.Errorf("error %q names neither the key nor the status", err)
	}
}

// The timeout kills the program and what it started.
func TestTimeoutKillsGroup(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	e := newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "hang", pids}, Timeout: 500 * time.Millisecond})
	err := e.Apply(t.Context(), []jail.Decision{ban(addr("203.0.113.7"))})
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Apply = %v, want a timeout", err)
	}
	b, rerr := os.ReadFile(pids)
	if rerr != nil {
		t.Fatalf("the helper wrote no pids before it was killed: %v", rerr)
	}
	for _, pid := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(pid); err == nil { // should a kill fail, the test still ends what it started
			t.Cleanup(func() { _ = syscall.Kill(n, syscall.SIGKILL) })
		}
		waitGone(t, pid)
	}
}

// waitGone waits for a process to end: killed, it is gone (or a zombie)
// within moments; the generous bound only keeps a broken kill from hanging.
func waitGone(t *testing.T, pid string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return
		}
		if f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("process %s still runs after the timeout", pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// No more than Concurrency runs at once, and runs of different keys do
// overlap up to it. The helper holds a connection open while it runs;
// the test counts connections open at once.
func TestConcurrencyLimit(t *testing.T) {
	const limit, n = 2, 6
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "overlap", sock}, Concurrency: limit})
	ds := make([]jail.Decision, n)
	for i := range ds {
		ds[i] = ban(addr(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}).String()))
	}
	done := make(chan error, 1)
	go func() { done <- e.Apply(t.Context(), ds) }()

	var open []net.Conn
	most, started := 0, 0
	for started < n || len(open) > 0 {
		// At the limit, a further connection must not come: wait a moment
		// for one (a broken limit shows in it), then let a run end.
		wait := 10 * time.Second
		if len(open) == limit || started == n {
			wait = 200 * time.Millisecond
		}
		_ = ln.SetDeadline(time.Now().Add(wait))
		c, err := ln.Accept()
		if err == nil {
			started++
			open = append(open, c)
			most = max(most, len(open))
			continue
		}
		if len(open) == 0 {
			t.Fatalf("no run started within 10s: %v", err)
		}
		open[0].Close()
		open = open[1:]
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if most != limit {
		t.Errorf("at most %d runs at once, want %d (the limit)", most, limit)
	}
}

// Decisions on one key run in their order, one at a time.
func TestSameKeyInOrder(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r")
	e := newExec(t, config.ActionSpec{
		Ban:         []string{self(t), helperArg, "record", out, "ban"},
		Unban:       []string{self(t), helperArg, "record", out, "unban"},
		Concurrency: 4,
	})
	k := addr("203.0.113.9")
	ds := []jail.Decision{ban(k), {Action: jail.ActionUnban, Jail: "ssh", Key: k, At: at}}
	if err := e.Apply(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, out).Args; !slices.Equal(got, []string{"unban"}) {
		t.Errorf("last run %q, want the unban after the ban", got)
	}
}

func TestPartialFailure(t *testing.T) {
	e := newExec(t, config.ActionSpec{Ban: []string{self(t), helperArg, "exit-if", "b", "{key}"}, Concurrency: 2})
	err := e.Apply(t.Context(), []jail.Decision{ban(jail.Key{ID: "a"}), ban(jail.Key{ID: "b"}), ban(jail.Key{ID: "c"})})
	var f *action.Failed
	if !errors.As(err, &f) || !slices.Equal(f.Index, []int{1}) {
		t.Fatalf("Apply = %v, want *action.Failed naming decision 1", err)
	}
	var x *execaction.ExitError
	if !errors.As(f.Errs[0], &x) || x.Code != 5 {
		t.Errorf("error %v, want exit status 5", f.Errs[0])
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		spec config.ActionSpec
		want string
	}{
		{config.ActionSpec{}, "name the program"},
		{config.ActionSpec{Ban: []string{"/nonexistent/ufw"}}, "ban"},
		{config.ActionSpec{Ban: []string{"{key}"}}, "no placeholders"},
		{config.ActionSpec{Ban: []string{"true", "{kye}"}}, "{kye} is no placeholder"},
		{config.ActionSpec{Ban: []string{"true"}, Unban: []string{"true", "{whatever}"}}, "unban"},
	}
	for _, c := range cases {
		_, err := execaction.New(c.spec, action.Env{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error mentioning %q", c.spec, err, c.want)
		}
	}
	e := newExec(t, config.ActionSpec{Ban: []string{"true"}})
	// Named by the program's path, as the config summary names it.
	if n := e.Name(); !strings.HasPrefix(n, "exec /") || !strings.HasSuffix(n, "/true") {
		t.Errorf("Name = %q", e.Name())
	}
	if _, err := e.Held(t.Context()); !errors.Is(err, action.ErrNotListable) {
		t.Errorf("Held = %v", err)
	}
	if !e.Takes(jail.Key{ID: "x"}) || !e.Takes(addr("10.0.0.1")) || e.Takes(jail.Key{}) {
		t.Error("Takes: want every valid key")
	}
}
