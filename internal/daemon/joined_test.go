package daemon

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/firewall"
)

// ours returns the stacks of the goroutines running peerjail code that no
// test started, at this instant: unlike goleak, it does not wait for
// goroutines that are about to end, so it shows whether Stop and Reload
// joined what they started before returning.
func ours() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		// A goroutine whose function has returned shows only the runtime's
		// exit frames until the scheduler frees it: it has ended, and
		// whoever waited on what it sent has already had its answer.
		if _, rest, _ := strings.Cut(g, "\n"); strings.HasPrefix(rest, "runtime.goexit1(") {
			continue
		}
		if strings.Contains(g, "github.com/peerjail/peerjail/internal/") && !strings.Contains(g, "_test.go") {
			out = append(out, g)
		}
	}
	return out
}

// When Stop returns, nothing it started still runs: no file follower
// reads on into a closed store, no engine or ticker is left, after twenty
// reloads as after none.
func TestStopJoinsEveryGoroutine(t *testing.T) {
	for _, reloads := range []int{0, 20} {
		td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
		td.appendLines(t, failed("198.51.100.40", 3)...)
		waitFor(t, "ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.40/32") })
		for range reloads {
			if err := td.d.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			td.appendLines(t, failed("198.51.100.41", 1)...)
		}
		td.cancel()
		<-td.served // Serve has returned, so Stop has
		td.cancel = nil
		if left := ours(); len(left) > 0 {
			t.Fatalf("after %d reloads, Stop returned with %d goroutines still running:\n%s", reloads, len(left), strings.Join(left, "\n\n"))
		}
	}
}
