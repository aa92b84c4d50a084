package source

import (
	"testing"
	"time"
)

// scanWaiter sees each scan of a Files source, through its scanned hook:
// a test waits for the source to look again instead of sleeping.
type scanWaiter struct{ c chan struct{} }

// watchScans hooks fs; call it before fs runs.
func watchScans(fs *Files) *scanWaiter {
	w := &scanWaiter{c: make(chan struct{}, 1)}
	prev := fs.scanned
	fs.scanned = func() {
		if prev != nil {
			prev()
		}
		select {
		case w.c <- struct{}{}:
		default: // a scan is already waiting to be seen
		}
	}
	return w
}

// wait returns after n whole scans that started after the call.
func (w *scanWaiter) wait(t *testing.T, n int) {
	t.Helper()
	// A scan seen before the call may have started before it: skip it.
	select {
	case <-w.c:
	default:
	}
	for i := 0; i <= n; i++ {
		select {
		case <-w.c:
		case <-time.After(10 * time.Second):
			t.Fatalf("waited 10s for scan %d of %d", i, n)
		}
	}
}

// until waits scan by scan for cond, for at most 10s.
func (w *scanWaiter) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-w.c:
		case <-deadline:
			t.Fatalf("waited 10s of scans for %s", what)
		}
	}
}
