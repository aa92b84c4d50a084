//go:build linux

package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/store"
)

// TestE2EKillDuringFlood kills the daemon (SIGKILL) in the middle of a
// flood and starts it again on the same state file.
//
// What can be asserted. The daemon saves its read position in the same
// store transaction as each batch's decisions, otherwise at most once a
// second, and it changes the kernel before the store. So after a SIGKILL:
//   - the saved offset P is a line start after the line that caused each
//     ban in the store, and every ban in the store is in the kernel;
//   - windows are saved every 2 s, with a position at or after them: what
//     the killed daemon counted after its last save died with it, and the
//     lines after P (up to about a second's worth more than it had read)
//     are read again;
//   - a ban in the kernel but not yet in the store (killed between the two
//     writes) is adopted at the restart.
//
// The restarted daemon must therefore count every line after P once and no
// line before it: its total_hits is exactly the number of failures after P
// (a banned host's failures count too, as fail2ban's "Total failed" does).
// What the killed daemon counted after P is unknowable and not asserted.
//
// The flood makes the right bans independent of where P falls: 150 hosts
// fail 10 times and 50 hosts 4 times, round-robin. A host is banned at its
// 5th failure: before P it was banned and saved; after P the host still has
// 6 failures or more to come, enough for the restarted daemon. A host with 4
// failures reaches maxretry in no run, whatever is read twice.
func TestE2EKillDuringFlood(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	d := n.start()
	killed, restarted := make(chan struct{}), make(chan struct{})
	fl := n.newFlood(200)
	fl.start(t, [][]int{rounds(1, 5), rounds(6, 7), rounds(8, 10)}, []chan struct{}{killed, restarted})

	// Kill once the kernel holds a few bans: the daemon is then in the
	// rounds that ban, with the flood going on.
	waitFor(t, 20*time.Second, "10 bans in the kernel", func() bool { return len(n.kernelBans()) >= 10 })
	d.signal(syscall.SIGKILL)
	if err := d.wait(10 * time.Second); err == nil {
		t.Fatal("daemon exited normally after SIGKILL")
	}
	close(killed)
	listed := time.Now()
	k1 := n.kernelBans()
	p, stored := n.saved()
	checkKilled(t, n, d, k1, p, stored)
	checkCountdown(t, n, k1, listed)

	d2 := n.start()
	checkRestored(t, n.mustStatus(), k1, listed)
	close(restarted)
	fl.wait(t)
	t.Logf("killed with %d bans in the kernel, %d in the store, offset %d saved; %d bytes written in all", len(k1), len(stored), p, fl.off)

	wantHits := afterKill(t, fl.hits, p, stored)
	want := hostSet(rounds(2*e2eMaxRetry, 2*e2eMaxRetry)...)
	what := fmt.Sprintf("the %d hosts with 10 failures banned, total_hits %d (offset %d saved of %d written, %d bans in the kernel at the kill)",
		len(want), wantHits, p, fl.off, len(k1))
	st := n.settle(what, func(st control.JailStatus) bool {
		return st.TotalHits == wantHits && sameKeys(bannedHosts(st), want)
	})
	if st.TotalBanned != int64(len(want)-len(k1)) {
		t.Errorf("restarted daemon banned %d hosts, want the %d not banned at the kill", st.TotalBanned, len(want)-len(k1))
	}
	if k := n.kernelBans(); !sameKeys(k, want) {
		t.Errorf("kernel bans after the flood: %d %v, want the %d hosts with 10 failures", len(k), hostList(k), len(want))
	}
	// A fresh host fails maxretry times after the flood: once it is
	// banned, the daemon has read every line before its failures, so a
	// line counted twice would show in total_hits now.
	marker := make([]int, e2eMaxRetry)
	for i := range marker {
		marker[i] = killHosts
	}
	fl.write(t, marker...)
	st = n.waitStatus(20*time.Second, "the marker host banned", func(st control.JailStatus) bool {
		_, ok := bannedHosts(st)[hostName(killHosts)]
		return ok
	})
	if st.TotalHits != wantHits+e2eMaxRetry {
		t.Errorf("total_hits went on from %d to %d after the flood, want %d with the marker's failures", wantHits, st.TotalHits, wantHits+e2eMaxRetry)
	}
	d.checkLog()
	d2.checkLog()
}

// The kill test's hosts: 150 fail 10 times, 50 fail 4 times.
const killHosts, killBannable = 200, 150

// rounds lists the failures of rounds from to to, each round one failure of
// every host that has that many.
func rounds(from, to int) (order []int) {
	for r := from; r <= to; r++ {
		for i := range killHosts {
			if i < killBannable && r <= 2*e2eMaxRetry || r < e2eMaxRetry {
				order = append(order, i)
			}
		}
	}
	return order
}

// checkKilled checks what a SIGKILL leaves: the bans the daemon applied
// (logged, or saved) in the kernel, a saved offset at a line start, and a
// socket file nobody answers on.
func checkKilled(t *testing.T, n *e2eNode, d *e2eDaemon, kernel map[string]time.Duration, p int64, stored map[string]store.Ban) {
	t.Helper()
	for _, h := range d.loggedBans() {
		if _, ok := kernel[h]; !ok {
			t.Errorf("ban of %s, logged by the killed daemon, is not in the kernel", h)
		}
	}
	for h := range stored {
		if _, ok := kernel[h]; !ok {
			t.Errorf("ban of %s is in the store but not in the kernel", h)
		}
	}
	if !n.atLineStart(p) {
		t.Errorf("saved offset %d is not at the start of a line", p)
	}
	if code, _, errOut := n.cli("status", "--socket", n.sock); code != 1 || !strings.Contains(errOut, "no peerjail daemon is running") {
		t.Errorf("status after the kill: exit %d, stderr %q; want 1, no peerjail daemon is running", code, errOut)
	}
}

// checkCountdown checks that the kernel goes on enforcing the bans, with
// their timeouts running down, while no daemon runs.
func checkCountdown(t *testing.T, n *e2eNode, k1 map[string]time.Duration, listed time.Time) {
	t.Helper()
	// The behaviour under test is the kernel's own clock running the
	// timeouts down with no daemon: a second of it has to pass.
	time.Sleep(time.Until(listed.Add(1100 * time.Millisecond)))
	k2 := n.kernelBans()
	if !sameKeys(k1, k2) {
		t.Errorf("kernel bans changed while the daemon was down: %v, then %v", hostList(k1), hostList(k2))
	}
	for h, e1 := range k1 {
		if e2, ok := k2[h]; ok && e2 >= e1 {
			t.Errorf("kernel ban of %s: expires in %v, 1.1s later in %v", h, e1, e2)
		}
	}
}

// checkRestored checks that the restarted daemon lists each ban the kernel
// held, ending when the kernel's does (nft shows whole seconds).
func checkRestored(t *testing.T, st control.JailStatus, kernel map[string]time.Duration, listed time.Time) {
	t.Helper()
	restored := bannedHosts(st)
	for h, left := range kernel {
		b, ok := restored[h]
		end := listed.Add(left)
		switch {
		case !ok:
			t.Errorf("ban of %s, in the kernel, is not in the status after the restart", h)
		case b.Until.Before(end.Add(-2*time.Second)) || b.Until.After(end.Add(2*time.Second)):
			t.Errorf("ban of %s: status says until %v, the kernel said %v left at %v", h, b.Until, left, listed)
		case b.Remaining <= 0 || time.Duration(b.Remaining) > e2eBanTime:
			t.Errorf("ban of %s: status says %v remaining, want some of bantime %v", h, b.Remaining, e2eBanTime)
		}
	}
}

// afterKill checks that each ban in the store was saved with an offset past
// the failure that caused it, and returns the total_hits the restarted
// daemon must reach: every failure after p.
func afterKill(t *testing.T, hits []logHit, p int64, stored map[string]store.Ban) int64 {
	t.Helper()
	seen, after := make([]int, killHosts), make([]int, killHosts)
	cause := map[string]int64{}
	for _, h := range hits {
		if seen[h.host]++; seen[h.host] == e2eMaxRetry {
			cause[hostName(h.host)] = h.off
		}
		if h.off >= p {
			after[h.host]++
		}
	}
	for h := range stored {
		if off, ok := cause[h]; !ok || off >= p {
			t.Errorf("ban of %s is in the store with an offset before the failure that caused it", h)
		}
	}
	var want int64
	for i := range killHosts {
		want += int64(after[i])
	}
	return want
}

// TestE2EGracefulRestart stops the daemon (SIGTERM) in the middle of the
// stream and starts it again: no line may be lost or counted twice.
//
// Each host fails exactly maxretry times in a row (with noise between), so a
// host is banned when all its failures were counted once in one run, and its
// ban starts when the daemon counts its last failure: a failure lost leaves
// it unbanned, one counted twice shows in total_hits. A graceful stop
// saves the offset P after the last line counted, with every decision before
// it. So: the hosts whose failures all lie before P were banned by the first
// run (read back from the store), those after P
// by the second, which counts exactly the failures after P (its total_hits).
// Together that is every failure written, once. The one host whose
// failures P splits is banned by the second run: the
// first saved its window at the stop, and the second goes on from there.
func TestE2EGracefulRestart(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	d := n.start()
	stopped, restarted := make(chan struct{}), make(chan struct{})
	fl := n.newFlood(300)
	fl.start(t, [][]int{inRows(0, 120), inRows(120, 180), inRows(180, graceHosts)}, []chan struct{}{stopped, restarted})

	// Stop as soon as the kernel holds a ban: the daemon is then banning
	// host after host, with the flood going on.
	waitFor(t, 20*time.Second, "a ban in the kernel", func() bool { return len(n.kernelBans()) > 0 })
	d.signal(syscall.SIGTERM)
	close(stopped)
	if err := d.wait(15 * time.Second); err != nil {
		t.Fatalf("daemon after SIGTERM: %v, want exit 0", err)
	}
	stoppedAt := time.Now()
	p, stored := n.saved()
	if !n.atLineStart(p) {
		t.Errorf("saved offset %d is not at the start of a line", p)
	}
	kernel := n.kernelBans()
	for h := range stored {
		if _, ok := kernel[h]; !ok {
			t.Errorf("ban of %s is in the store but not in the kernel after a graceful stop", h)
		}
	}
	d2 := n.start()
	close(restarted)
	fl.wait(t)
	// The flood's stamps are a microsecond apart at least, so, written as
	// fast as it writes, they run ahead of the clock by some milliseconds;
	// a ban starts at its decisive line's time (within max_clock_skew), so
	// the latest start possible is the later of the clock and the last stamp.
	stoppedAt = latest(stoppedAt, fl.last)
	t.Logf("stopped with %d bans in the store, offset %d saved; %d bytes written in all", len(stored), p, fl.off)

	w := afterStop(t, fl.hits, p)
	if !sameKeys(stored, w.firstRun) {
		t.Errorf("first run saved bans of %v, want the %d hosts whose failures all lie before offset %d: %v",
			hostList(stored), len(w.firstRun), p, hostList(w.firstRun))
	}
	for h, b := range stored {
		// A live ban starts when the daemon counts the decisive line: not
		// before it was written, and not after the run stopped.
		if at, ok := w.firstRun[h]; ok && (b.At.Before(at) || b.At.After(stoppedAt)) {
			t.Errorf("first run banned %s at %v, want between its last failure, %v, and the stop, %v", h, b.At, at, stoppedAt)
		}
	}
	what := fmt.Sprintf("%d hosts banned, total_hits %d (offset %d saved of %d written, %d hosts banned by the first run)",
		len(w.banned), w.hits, p, fl.off, len(w.firstRun))
	st := n.settle(what, func(st control.JailStatus) bool {
		return st.TotalHits == w.hits && sameKeys(bannedHosts(st), w.banned)
	})
	for h, b := range bannedHosts(st) {
		if lo, hi := w.banned[h].Add(e2eBanTime), latest(time.Now(), fl.last).Add(e2eBanTime); b.Until.Before(lo) || b.Until.After(hi) {
			t.Errorf("%s banned until %v, want bantime after it was counted: between %v and %v", h, b.Until, lo, hi)
		}
	}
	if st.TotalBanned != int64(len(w.banned)-len(w.firstRun)) {
		t.Errorf("second run banned %d hosts, want %d", st.TotalBanned, len(w.banned)-len(w.firstRun))
	}
	if k := n.kernelBans(); !sameKeys(k, w.banned) {
		t.Errorf("kernel bans: %d %v, want %d", len(k), hostList(k), len(w.banned))
	}
	d.checkLog()
	d2.checkLog()
}

const graceHosts = 240

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// inRows lists maxretry failures of each host from from to to, in a row.
func inRows(from, to int) (order []int) {
	for i := from; i < to; i++ {
		for range e2eMaxRetry {
			order = append(order, i)
		}
	}
	return order
}

// graceWant is what a stop at offset P must lead to.
type graceWant struct {
	firstRun map[string]time.Time // hosts banned by the first run: when
	banned   map[string]time.Time // all hosts banned in the end: when
	hits     int64                // the second run's total_hits
}

func afterStop(t *testing.T, hits []logHit, p int64) graceWant {
	t.Helper()
	w := graceWant{firstRun: map[string]time.Time{}, banned: map[string]time.Time{}}
	before, last := make([]int64, graceHosts), make([]logHit, graceHosts)
	for _, h := range hits {
		if h.off < p {
			before[h.host]++
		}
		last[h.host] = h
	}
	var split []string
	for i := range graceHosts {
		host := hostName(i)
		switch before[i] {
		case e2eMaxRetry:
			w.firstRun[host] = last[i].at
			w.banned[host] = last[i].at
		case 0:
			w.banned[host] = last[i].at
			w.hits += e2eMaxRetry
		default:
			split = append(split, host)
			w.banned[host] = last[i].at
			w.hits += e2eMaxRetry - before[i]
		}
	}
	if len(split) > 1 {
		t.Fatalf("offset %d splits the failures of %v: impossible with failures in a row", p, split)
	}
	return w
}
