//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// e2eDaemon is one `peerjail run` process.
type e2eDaemon struct {
	n      *e2eNode
	cmd    *exec.Cmd
	output string // its stdout and stderr
	exited chan struct{}
	err    error // how it ended, once exited is closed
}

// start runs the daemon inside the namespace, with extra flags of `run`,
// and returns once it has told systemd (the test's notification socket)
// that it is ready.
func (n *e2eNode) start(extra ...string) *e2eDaemon {
	n.t.Helper()
	n.starts++
	nth := n.starts
	d := &e2eDaemon{n: n, output: filepath.Join(n.dir, fmt.Sprintf("daemon-%d.log", n.starts)), exited: make(chan struct{})}
	out, err := os.Create(d.output)
	if err != nil {
		n.t.Fatal(err)
	}
	defer out.Close()
	// ip netns exec execs the command: the process is the daemon itself.
	d.cmd = exec.Command("ip", append([]string{"netns", "exec", n.ns.Name, n.exe, "run", "-c", n.cfg,
		"--state", n.state, "--socket", n.sock, "--log-level", "info"}, extra...)...)
	// The daemon tells systemd READY=1 once its firewall is in place, its
	// sources positioned and its control socket listening: that is the
	// moment to wait for.
	ready := listenNotify(n.t, filepath.Join(n.dir, fmt.Sprintf("notify-%d.sock", nth)))
	d.cmd.Env = append(os.Environ(), e2eEnv+"=1", "NOTIFY_SOCKET="+ready.path)
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	n.t.Cleanup(func() {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
		if n.t.Failed() {
			b, _ := os.ReadFile(d.output)
			n.t.Logf("daemon %d output (last 4 KiB):\n%s", nth, lastBytes(b, 4096))
		}
	})
	select {
	case <-ready.ready:
	case <-d.exited:
		n.t.Fatalf("daemon exited at start: %v", d.err)
	case <-time.After(20 * time.Second):
		n.t.Fatal("daemon sent no READY=1 within 20s")
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", d.cmd.Process.Pid)); err != nil || exe != n.exe {
		n.t.Fatalf("pid %d is %q (%v), not the daemon %s: signals would miss it", d.cmd.Process.Pid, exe, err, n.exe)
	}
	return d
}

// notifySocket stands in for systemd's notification socket.
type notifySocket struct {
	path  string
	ready chan struct{} // closed at the first READY=1
}

// listenNotify listens at path for sd_notify datagrams until the test ends.
func listenNotify(t *testing.T, path string) *notifySocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ns := &notifySocket{path: path, ready: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		seen := false
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return // closed at cleanup
			}
			for _, state := range strings.Split(string(buf[:k]), "\n") {
				if state == "READY=1" && !seen {
					seen = true
					close(ns.ready)
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return ns
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (d *e2eDaemon) signal(sig syscall.Signal) {
	d.n.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.n.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the daemon to end and returns how it ended.
func (d *e2eDaemon) wait(limit time.Duration) error {
	d.n.t.Helper()
	select {
	case <-d.exited:
		return d.err
	case <-time.After(limit):
		d.n.t.Fatalf("daemon still running %v after the signal", limit)
		return nil
	}
}

// checkLog fails the test for every error the daemon logged, but those
// matching one of allowed.
func (d *e2eDaemon) checkLog(allowed ...string) {
	d.n.t.Helper()
	b, err := os.ReadFile(d.output)
	if err != nil {
		d.n.t.Fatal(err)
	}
lines:
	for l := range strings.Lines(string(b)) {
		if !strings.Contains(l, "level=ERROR") {
			continue
		}
		for _, a := range allowed {
			if strings.Contains(l, a) {
				continue lines
			}
		}
		d.n.t.Errorf("daemon %s logged: %s", filepath.Base(d.output), strings.TrimSpace(l))
	}
}

// loggedBans are the hosts of the bans the daemon logged, which it does once
// it has applied them.
func (d *e2eDaemon) loggedBans() []string {
	d.n.t.Helper()
	b, err := os.ReadFile(d.output)
	if err != nil {
		d.n.t.Fatal(err)
	}
	var hosts []string
	for l := range strings.Lines(string(b)) {
		if !strings.Contains(l, " msg=ban ") {
			continue
		}
		for f := range strings.FieldsSeq(l) {
			if h, ok := strings.CutPrefix(f, "host="); ok {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}
