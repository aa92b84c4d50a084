package daemon

import (
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify tells systemd about a state change; a no-op outside systemd.
func sdNotify(state string) { _, _ = sd.SdNotify(false, state) }

// startWatchdog pings systemd at half the unit's WatchdogSec, if it set one,
// but only while healthy answers within that time: a daemon whose counting
// is wedged, or that has nothing counting, stops pinging, and systemd
// restarts it. stop returns once the pinging goroutine has ended.
func startWatchdog(notify func(string), healthy func(limit time.Duration) bool) (stop func()) {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return func() {}
	}
	t := time.NewTicker(every / 2)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if healthy(every / 2) {
					notify("WATCHDOG=1")
				}
			}
		}
	})
	return func() {
		t.Stop()
		close(done)
		wg.Wait()
	}
}

// healthy reports whether a generation is counting and its counting side
// answers within limit. The probe's goroutine outlives a false answer only
// while the counting is wedged, which is when systemd kills the daemon.
func (d *Daemon) healthy(limit time.Duration) bool {
	g := d.current()
	if g == nil || !g.running() {
		return false
	}
	done := make(chan struct{})
	go func() {
		g.eng.Do(func() {})
		close(done)
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
