//go:build linux && cgo

package source

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/mounttest"
)

const (
	journaldBin = "/lib/systemd/systemd-journald"
	runtimeDir  = "/run/log/journal"
)

// journaldConf keeps the test's journald to itself: memory only, nothing
// read from or written to the kernel log, no rate limit.
const journaldConf = `[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
`

// TestJournal runs a real systemd-journald and reads it. The test runs
// itself again under "unshare --mount", where tmpfs hides /run and
// /var/log/journal, so that this journald touches nothing of the host's.
func TestJournal(t *testing.T) {
	for _, p := range []string{journaldBin, "/usr/bin/systemd-cat", "/usr/bin/journalctl"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	if !mounttest.Private(t, "starts its own systemd-journald in a private mount namespace") {
		return
	}
	startJournald(t)
	t.Run("restart", testJournalRestart)
	t.Run("starts at the tail of an empty match", testJournalEmptyStart)
	t.Run("all fields", testJournalFields)
	t.Run("unreadable, then readable", testJournalUnreadable)
	t.Run("check", func(t *testing.T) {
		if err := checkJournal([]string{runtimeDir}); err != nil {
			t.Errorf("checkJournal(%s) = %v, want nil: journald runs", runtimeDir, err)
		}
	})
}

// startJournald mounts the private directories and starts journald; both
// are undone when the test ends.
func startJournald(t *testing.T) {
	mounttest.Mount(t, "tmpfs", "/run", "tmpfs", 0, "")
	mounttest.Mount(t, "tmpfs", "/var/log/journal", "tmpfs", 0, "")
	mounttest.Bind(t, "/dev/null", "/dev/kmsg")
	for _, d := range []string{"/run/systemd/journal", "/run/systemd/journald.conf.d", runtimeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, "/run/systemd/journald.conf.d/zz-peerjail-test.conf", journaldConf)

	// Handing journald its stdout socket (socket activation) keeps it from
	// opening the kernel's audit socket, as it does when it gets none.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: "/run/systemd/journal/stdout", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	lf, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "export LISTEN_PID=$$; exec "+journaldBin)
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "SYSTEMD_LOG_TARGET=console")
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		l.Close()
		if t.Failed() {
			t.Logf("journald:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, _ := filepath.Glob(runtimeDir + "/*/system.journal"); len(m) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journald did not start:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLines writes lines to the journal with identifier id and waits until
// journald has stored them.
func logLines(t *testing.T, id string, lines []string) {
	t.Helper()
	cmd := exec.Command("systemd-cat", "-t", id)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-cat: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("journalctl", "-D", runtimeDir, "-t", id, "-o", "cat", "-n", "1").Output()
		if bytes.Equal(bytes.TrimSpace(out), []byte(lines[len(lines)-1])) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journald did not store %q", lines[len(lines)-1])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func numberedLines(prefix string, from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprintf("%s %04d", prefix, i))
	}
	return s
}

// journalRun runs j until the returned stop is called, once j is positioned.
func journalRun(t *testing.T, j *Journal) (<-chan logline.Line, func()) {
	t.Helper()
	ready := make(chan struct{})
	j.ready = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line)
	errc := make(chan error, 1)
	go func() { errc <- j.Run(ctx, out) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	}
	var once sync.Once
	return out, func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
}

func receive(t *testing.T, out <-chan logline.Line) logline.Line {
	t.Helper()
	select {
	case l := <-out:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no journal entry arrived")
		return logline.Line{}
	}
}

// testJournalRestart: the first run starts at the tail; the source is
// stopped in the middle and started again from the last cursor while
// entries keep coming: every matching entry arrives exactly once.
func testJournalRestart(t *testing.T) {
	logLines(t, "peerjail-test", numberedLines("old", 1, 3))
	matches := []string{"SYSLOG_IDENTIFIER=peerjail-test", "SYSLOG_IDENTIFIER=peerjail-other"}
	j, err := NewJournal(matches, nil, JournalOptions{Dir: runtimeDir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := j.Name(), "journal:SYSLOG_IDENTIFIER=peerjail-test+SYSLOG_IDENTIFIER=peerjail-other"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	out, stop := journalRun(t, j)
	start := time.Now()
	logLines(t, "peerjail-noise", []string{"not matched"})
	logLines(t, "peerjail-test", append(numberedLines("msg", 1, 500), "bin \x01\x7f\xff end"))
	logLines(t, "peerjail-other", numberedLines("other", 1, 5))
	seen := make(map[string]int)
	var last logline.Line
	for range 250 {
		last = receive(t, out)
		seen[string(last.Text)]++
	}
	stop()
	logLines(t, "peerjail-test", numberedLines("msg", 501, 1000))

	saved := func(src string) (string, bool) { return last.Position, src == "journal" }
	j, _ = NewJournal(matches, saved, JournalOptions{Dir: runtimeDir})
	out, stop = journalRun(t, j)
	defer stop()
	for range 1000 + 1 + 5 - 250 {
		l := receive(t, out)
		seen[string(l.Text)]++
		if l.Source != "journal" || !l.TimeIsExact || l.Time.Before(start.Add(-time.Second)) ||
			l.Time.After(time.Now().Add(time.Second)) || l.Position == "" || l.Fields["_PID"] == "" {
			t.Fatalf("entry %+v", l)
		}
		if l.Fields["MESSAGE"] != string(l.Text) || !strings.HasPrefix(l.Fields["SYSLOG_IDENTIFIER"], "peerjail-") {
			t.Fatalf("fields %v", l.Fields)
		}
	}
	want := append(append(numberedLines("msg", 1, 1000), numberedLines("other", 1, 5)...), "bin \x01\x7f\xff end")
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("%q arrived %d times", w, seen[w])
		}
		delete(seen, w)
	}
	if len(seen) > 0 {
		t.Errorf("unexpected entries: %v", seen)
	}
	select {
	case l := <-out:
		t.Errorf("unexpected entry %q", l.Text)
	case <-time.After(300 * time.Millisecond):
	}
}

// testJournalEmptyStart: with no matching entry at all yet, the first run
// still follows the entries that come.
func testJournalEmptyStart(t *testing.T) {
	j, _ := NewJournal([]string{"SYSLOG_IDENTIFIER=peerjail-late"}, nil, JournalOptions{Dir: runtimeDir})
	out, stop := journalRun(t, j)
	defer stop()
	logLines(t, "peerjail-late", []string{"late 1", "late 2"})
	for _, w := range []string{"late 1", "late 2"} {
		if l := receive(t, out); string(l.Text) != w {
			t.Fatalf("got %q, want %q", l.Text, w)
		}
	}
}

func testJournalFields(t *testing.T) {
	j, _ := NewJournal([]string{"SYSLOG_IDENTIFIER=peerjail-fields"}, nil, JournalOptions{Dir: runtimeDir, Fields: true})
	out, stop := journalRun(t, j)
	defer stop()
	logLines(t, "peerjail-fields", []string{"with fields"})
	l := receive(t, out)
	if string(l.Text) != "with fields" || l.Fields["_TRANSPORT"] != "stdout" || l.Fields["MESSAGE"] != "with fields" {
		t.Errorf("entry %q, fields %v", l.Text, l.Fields)
	}
	if _, err := strconv.Atoi(l.Fields["_PID"]); err != nil {
		t.Errorf("_PID %q", l.Fields["_PID"])
	}
}

// testJournalUnreadable: a journal that cannot be opened is warned about
// once, not at every retry, and said at info to be readable again when it
// can be; the entries then arrive.
func testJournalUnreadable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal") // not there yet
	lr := &logRecorder{}
	j, err := NewJournal([]string{"SYSLOG_IDENTIFIER=peerjail-unreadable"}, nil, JournalOptions{Dir: dir, Logger: lr.logger()})
	if err != nil {
		t.Fatal(err)
	}
	j.retry = 10 * time.Millisecond
	retries := make(chan struct{}, 1)
	j.retried = func() {
		select {
		case retries <- struct{}{}:
		default:
		}
	}
	if got := j.Watching(); len(got) != 1 || got[0] != "SYSLOG_IDENTIFIER=peerjail-unreadable" {
		t.Errorf("Watching() = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line)
	errc := make(chan error, 1)
	go func() { errc <- j.Run(ctx, out) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-j.Ready()   // a journal that cannot be read holds no one's start
	for range 4 { // several retries, each failing again
		select {
		case <-retries:
		case <-time.After(10 * time.Second):
			t.Fatal("the unreadable journal was not retried")
		}
	}
	if n := lr.count(slog.LevelWarn, "journal unreadable, will retry", "", ""); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
	if err := os.Symlink(runtimeDir, dir); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); lr.count(slog.LevelInfo, "journal readable again", "", "") != 1; {
		if time.Now().After(deadline) {
			t.Fatal("no info that the journal is readable again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	logLines(t, "peerjail-unreadable", []string{"now read"})
	if l := receive(t, out); string(l.Text) != "now read" {
		t.Errorf("got %q", l.Text)
	}
}
