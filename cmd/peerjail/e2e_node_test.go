//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/netnstest"
	"github.com/peerjail/peerjail/internal/store"
)

// e2eNode is one namespace with a config, a log, a state file and a socket in
// a temporary directory, where daemons are started and stopped.
type e2eNode struct {
	t                          *testing.T
	ns                         *netnstest.NS
	exe                        string
	dir, cfg, log, state, sock string
	starts                     int
}

func newNode(t *testing.T, config string) *e2eNode {
	t.Helper()
	ns := netnstest.New(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (apt-get install nftables) to read the kernel's sets")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := &e2eNode{t: t, ns: ns, exe: exe, dir: dir, cfg: filepath.Join(dir, "peerjail.yaml"),
		log: filepath.Join(dir, "auth.log"), state: filepath.Join(dir, "state.db"), sock: filepath.Join(dir, "peerjail.sock")}
	n.writeConfig(config)
	if err := os.WriteFile(n.log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeConfig installs testdata/e2e/name as the node's configuration.
func (n *e2eNode) writeConfig(name string) {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
	if err != nil {
		n.t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("{{LOG}}"), []byte(n.log))
	if err := os.WriteFile(n.cfg, b, 0o600); err != nil {
		n.t.Fatal(err)
	}
}

// cli runs `peerjail args...` inside the namespace and returns its exit code
// and output.
func (n *e2eNode) cli(args ...string) (code int, stdout, stderr string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns.Name, n.exe}, args...)...)
	cmd.Env = append(os.Environ(), e2eEnv+"=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		n.t.Fatalf("peerjail %s: %v", strings.Join(args, " "), err)
	}
	return code, o.String(), e.String()
}

// status is the daemon's `status --json` for the one jail "ssh".
func (n *e2eNode) status() (control.JailStatus, error) {
	code, out, errOut := n.cli("status", "--json", "--socket", n.sock)
	if code != 0 {
		return control.JailStatus{}, fmt.Errorf("status: exit %d: %s", code, errOut)
	}
	var st []control.JailStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 || st[0].Name != "ssh" {
		return control.JailStatus{}, fmt.Errorf("status --json: want one jail ssh, got %q (%v)", out, err)
	}
	return st[0], nil
}

func (n *e2eNode) mustStatus() control.JailStatus {
	n.t.Helper()
	st, err := n.status()
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// waitStatus polls status until ok holds and returns that status.
func (n *e2eNode) waitStatus(limit time.Duration, what string, ok func(control.JailStatus) bool) control.JailStatus {
	n.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, err := n.status()
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("waiting %v for %s: last status %s, err %v", limit, what, statusSummary(st), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle polls status until ok holds, and fails the test once the status
// has not changed for 5s (the daemon has read everything) without it.
func (n *e2eNode) settle(what string, ok func(control.JailStatus) bool) control.JailStatus {
	n.t.Helper()
	var last string
	since := time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := n.status()
		if err == nil && ok(st) {
			return st
		}
		now := statusSummary(st)
		if err != nil || now != last {
			last, since = now, time.Now()
		}
		if time.Since(since) > 5*time.Second || time.Now().After(deadline) {
			n.t.Fatalf("want %s; the daemon settled at %s (err %v)", what, now, err)
		}
	}
}

func statusSummary(st control.JailStatus) string {
	return fmt.Sprintf("{maxretry %d, total_hits %d, failing %d, total_banned %d, banned %d: %v}",
		st.MaxRetry, st.TotalHits, st.Failing, st.TotalBanned, len(st.Banned), slices.Sorted(maps.Keys(bannedHosts(st))))
}

func bannedHosts(st control.JailStatus) map[string]control.Banned {
	m := make(map[string]control.Banned, len(st.Banned))
	for _, b := range st.Banned {
		m[b.Host] = b
	}
	return m
}

// kernelBans lists table inet peerjail in the namespace: the remaining
// timeout of each element of set ssh_v4. Elements of any other set fail the
// test: every host of these tests is an IPv4 address.
func (n *e2eNode) kernelBans() map[string]time.Duration {
	n.t.Helper()
	out, err := n.ns.Exec("nft", "-j", "list", "table", "inet", "peerjail")
	if err != nil {
		n.t.Fatal(err)
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Name string
				Elem []struct {
					Elem *struct {
						Val     any
						Expires int64
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		n.t.Fatalf("nft -j list table inet peerjail: %v: %s", err, out)
	}
	bans := map[string]time.Duration{}
	for _, obj := range doc.Nftables {
		if obj.Set == nil {
			continue
		}
		for _, e := range obj.Set.Elem {
			var val string
			if e.Elem != nil {
				val, _ = e.Elem.Val.(string)
			}
			if val == "" || obj.Set.Name != "ssh_v4" {
				n.t.Fatalf("unexpected element in set %s: %s", obj.Set.Name, out)
			}
			bans[val] = time.Duration(e.Elem.Expires) * time.Second
		}
	}
	return bans
}

// saved reads the state file of a stopped daemon: the offset in the log up
// to which the daemon recorded having read, and the hosts of the bans.
func (n *e2eNode) saved() (offset int64, bans map[string]store.Ban) {
	n.t.Helper()
	st, err := store.Open(n.state, store.Options{})
	if err != nil {
		n.t.Fatal(err)
	}
	defer st.Close()
	pos, err := st.Positions()
	if err != nil || len(pos) != 1 {
		n.t.Fatalf("saved positions %v (%v), want one, of %s", pos, err, n.log)
	}
	for _, p := range pos {
		// A file position is dev:ino:offset[:checksum] (internal/source).
		f := strings.Split(p, ":")
		if len(f) < 3 {
			n.t.Fatalf("saved position %q is not dev:ino:offset", p)
		}
		if offset, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			n.t.Fatalf("saved position %q: %v", p, err)
		}
	}
	list, err := st.Bans()
	if err != nil {
		n.t.Fatal(err)
	}
	bans = map[string]store.Ban{}
	for _, b := range list {
		bans[b.Key] = b
	}
	return offset, bans
}

// atLineStart reports whether off is the start of a line of the log.
func (n *e2eNode) atLineStart(off int64) bool {
	if off == 0 {
		return true
	}
	f, err := os.Open(n.log)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off-1)
	return err == nil && b[0] == '\n'
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
