package daemon

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify tells systemd about a state change; a no-op outside systemd.
func sdNotify(state string) { _, _ = sd.SdNotify(false, state) }

// startWatchdog pings systemd at half the unit's WatchdogSec, if it set one.
// A hung daemon stops pinging, and systemd restarts it.
func startWatchdog(notify func(string)) (stop func()) {
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
				notify("WATCHDOG=1")
			}
		}
	}()
	return func() {
		t.Stop()
		close(done)
	}
}
