//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const failedLine = "Jul 27 00:00:01 h sshd[1]: Failed password for root from 198.51.100.1 port 1 ssh2\n"

// TestInterrupt runs replay and test-filter on endless input, /dev/zero (one
// line that never ends) and a FIFO whose writer keeps it open, and stops
// them with SIGINT or SIGTERM: each exits 130 at once, prints the report of
// what it had read, and no "context canceled".
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ssh.yaml")
	if err := os.WriteFile(cfg, []byte("jails:\n  ssh:\n    filter: sshd\n    maxretry: 5\n    source: {files: [/var/log/auth.log]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string // the input is appended
		fifo  bool     // else /dev/zero
		stdin bool     // the FIFO is a pipe on standard input
		sig   syscall.Signal
		wants []string // on stdout
	}{
		{"replay/zero/SIGINT", []string{"replay", "-c", cfg}, false, false, syscall.SIGINT, []string{"jail ssh", "lines 0"}},
		{"replay/zero/SIGTERM", []string{"replay", "-c", cfg}, false, false, syscall.SIGTERM, []string{"jail ssh"}},
		{"replay/fifo/SIGINT", []string{"replay", "-c", cfg, "--json"}, true, false, syscall.SIGINT,
			[]string{`"event":"summary","jail":"ssh","lines":2,"matched":2`}},
		{"replay/fifo/SIGTERM", []string{"replay", "-c", cfg}, true, false, syscall.SIGTERM, []string{"matched 2"}},
		{"replay/stdin/SIGINT", []string{"replay", "-c", cfg}, true, true, syscall.SIGINT, []string{"matched 2"}},
		{"test-filter/stdin/SIGTERM", []string{"test-filter", "sshd"}, true, true, syscall.SIGTERM, []string{"Lines: 2, matched 2"}},
		{"test-filter/zero/SIGINT", []string{"test-filter", "sshd"}, false, false, syscall.SIGINT, []string{"Lines: 0"}},
		{"test-filter/fifo/SIGINT", []string{"test-filter", "sshd"}, true, false, syscall.SIGINT, []string{"Lines: 2, matched 2"}},
		{"test-filter/fifo/SIGTERM", []string{"test-filter", "sshd"}, true, false, syscall.SIGTERM, []string{"Lines: 2, matched 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := "/dev/zero"
			var w, stdin *os.File
			switch {
			case tt.stdin:
				input = "-"
				r, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer pw.Close()
				stdin, w = r, pw
				if _, err := w.WriteString(failedLine + failedLine + "a line without its end"); err != nil {
					t.Fatal(err)
				}
			case tt.fifo:
				input = filepath.Join(t.TempDir(), "log.fifo")
				if err := unix.Mkfifo(input, 0o600); err != nil {
					t.Fatal(err)
				}
				// Read and write: opening does not wait for the reader, and
				// the FIFO has a writer for as long as the test runs.
				var err error
				if w, err = os.OpenFile(input, os.O_RDWR, 0); err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				if _, err := w.WriteString(failedLine + failedLine + "a line without its end"); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], append(tt.args, input)...)
			cmd.Env = append(os.Environ(), e2eEnv+"=1")
			var out, errOut bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			waitBusy(t, cmd.Process.Pid, input, w)
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 5s after %v; stderr %q", tt.sig, errOut.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Errorf("exit: %v, want code %d; stderr %q", err, exitInterrupted, errOut.String())
			}
			if s := errOut.String(); strings.Contains(s, "context canceled") || strings.Contains(s, "peerjail:") {
				t.Errorf("stderr %q, want no error", s)
			}
			words := strings.Join(strings.Fields(out.String()), " ")
			for _, want := range tt.wants {
				if !strings.Contains(words, want) {
					t.Errorf("stdout %q, want %q in it", out.String(), want)
				}
			}
		})
	}
}

// waitBusy returns once the command has opened the input and, for a
// FIFO (w is its writer, nil for /dev/zero), read what it held: by then
// its signal handlers are in place.
func waitBusy(t *testing.T, pid int, input string, w *os.File) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		unread := 0
		if w != nil {
			var err error
			if unread, err = unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ); err != nil {
				t.Fatal(err)
			}
		}
		if unread == 0 && (input == "-" || hasOpen(pid, input)) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the command did not start reading")
}

// hasOpen reports whether process pid has path open.
func hasOpen(pid int, path string) bool {
	fds := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(fds)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && l == path {
			return true
		}
	}
	return false
}
