//go:build linux

package main

import (
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/store"
)

// pendingSave is how long the daemon may take to save the windows once
// lines stop: internal/daemon idleSaveAfter (3 s) plus its 1 s ticker,
// and room for a slow fsync on a loaded machine.
const pendingSave = 6 * time.Second

// TestE2EPendingSurvivesKill: 2,000 attackers fail 5 times each (maxretry
// 5), one round of failures at a time, and the daemon is killed (SIGKILL)
// and started again between rounds, four times. Every attacker must end up
// banned: each run sees only one failure of each, the rest it must get
// back from the windows the runs before it saved.
func TestE2EPendingSurvivesKill(t *testing.T) {
	const hosts = 2000
	n := newNode(t, "ssh.yaml")
	d := n.start()
	var daemons []*e2eDaemon
	fl := n.newFlood(0)
	all := make([]int, hosts)
	for i := range all {
		all[i] = i
	}
	for r := 1; r <= e2eMaxRetry; r++ {
		fl.write(t, all...)
		if r == e2eMaxRetry {
			break
		}
		n.waitStatus(30*time.Second, "every attacker failing", func(st control.JailStatus) bool { return st.Failing == hosts })
		// The daemon saves windows every pendingSave: what is under test
		// is that a kill after one such interval loses none of them.
		time.Sleep(pendingSave)
		d.signal(syscall.SIGKILL)
		if err := d.wait(10 * time.Second); err == nil {
			t.Fatal("daemon exited normally after SIGKILL")
		}
		daemons = append(daemons, d)
		d = n.start()
		if st := n.mustStatus(); st.Failing != hosts {
			t.Fatalf("after kill %d: %d attackers failing, want all %d with %d failures restored", r, st.Failing, hosts, r)
		}
	}
	st := n.waitStatus(30*time.Second, "every attacker banned", func(st control.JailStatus) bool { return len(st.Banned) == hosts })
	if k := n.kernelBans(); !sameKeys(k, bannedHosts(st)) || len(k) != hosts {
		t.Errorf("kernel holds %d bans, want the %d attackers", len(k), hosts)
	}
	for _, d := range append(daemons, d) {
		d.checkLog()
	}
}

// TestE2EPendingKillDuringFlood kills the daemon in the middle of a flood
// of 10,000 hosts failing 4 times each (none is banned) and reads what it
// saved. Every failure before the saved read position is either in the
// saved windows or lost; every failure after it is read again by the next
// run, so none may be in the windows too (it would count twice). It logs
// the figure "hits lost per kill -9": how many, and how old the oldest was
// at the kill, for kills at several points of the 2 s save cycle.
func TestE2EPendingKillDuringFlood(t *testing.T) {
	for _, after := range []time.Duration{4200 * time.Millisecond, 4700 * time.Millisecond, 5200 * time.Millisecond, 5700 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) { testKillDuringFlood(t, after) })
	}
}

func testKillDuringFlood(t *testing.T, after time.Duration) {
	const hosts, rounds, perTick = 10000, e2eMaxRetry - 1, 50
	n := newNode(t, "ssh.yaml")
	d := n.start()
	fl := n.newFlood(0)
	var order []int
	for range rounds {
		for i := range hosts {
			order = append(order, i)
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for len(order) > 0 {
			k := min(perTick, len(order))
			for _, i := range order[:k] {
				fl.fail(i)
			}
			order = order[k:]
			if err := fl.w.Flush(); err != nil {
				done <- err
				return
			}
			select {
			case <-stop:
				done <- nil
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		done <- nil
	}()
	// The kill lands at a chosen time into the flood, wherever the
	// daemon's reading and saving then are: the timing is the test.
	time.Sleep(after)
	killed := time.Now()
	d.signal(syscall.SIGKILL)
	if err := d.wait(10 * time.Second); err == nil {
		t.Fatal("daemon exited normally after SIGKILL")
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	p, _ := n.saved()
	st, err := store.Open(n.state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := st.Pending("ssh")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	inWindow := map[string]map[time.Time]bool{}
	for _, h := range saved {
		m := map[time.Time]bool{}
		for _, at := range h.Hits {
			m[at] = true
		}
		inWindow[h.Key] = m
	}
	var lost []time.Duration
	var before, twice int
	for _, h := range fl.hits {
		in := inWindow[hostName(h.host)][h.at]
		switch {
		case h.off >= p && in:
			twice++
		case h.off < p && !in:
			lost = append(lost, killed.Sub(h.at))
		}
		if h.off < p {
			before++
		}
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i] > lost[j] })
	oldest := time.Duration(0)
	if len(lost) > 0 {
		oldest = lost[0]
	}
	t.Logf("hits lost per kill -9: %d of %d read and not to be read again (%d written); oldest %v old at the kill; %d saved windows",
		len(lost), before, len(fl.hits), oldest.Round(time.Millisecond), len(saved))
	if twice > 0 {
		t.Errorf("%d failures after the saved position are in the saved windows too: the next run counts them twice", twice)
	}
	if before == 0 || len(saved) == 0 {
		t.Errorf("nothing saved before the kill: position at %d, %d windows", p, len(saved))
	}
	// A bound, not the figure: snapshots follow batches every 2 s while
	// lines come (longer when saving is slow, see pendingCostFactor); 5 s
	// leaves room for a loaded machine.
	if oldest > 5*time.Second {
		t.Errorf("a lost hit was %v old at the kill; the windows are saved every 2s while lines come", oldest)
	}
	d.checkLog()
}
