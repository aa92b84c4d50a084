package daemon

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify tells systemd about a state change; a no-op outside systemd.
func sdNotify(state string) { _, _ = sd.SdNotify(false, state) }

// startWatchdog pings systemd at half the unit's WatchdogSec, if it set one,
// but only while healthy answers within that time: a daemon whose counting
// is wedged stops pinging, and systemd restarts it.
func startWatchdog(notify func(string), healthy func(limit time.Duration) bool) (stop func()) {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return func() {}
	}
	t := time.NewTicker(every / 2)
	done := make(chan struct{})
	go func() {
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
	}()
	return func() {
		t.Stop()
		close(done)
	}
}

// healthy reports whether the counting side answers within limit.
func (d *Daemon) healthy(limit time.Duration) bool {
	g := d.current()
	if g == nil {
		return false
	}
	done := make(chan struct{})
	go func() {
		g.eng.Do(func() {})
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}
