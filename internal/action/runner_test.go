package action

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peerjail/peerjail/internal/jail"
)

var errDown = errors.New("node down")

func ban(host string) jail.Decision {
	return jail.Decision{Action: jail.ActionBan, Jail: "j", Key: jail.Key{Prefix: netip.MustParsePrefix(host + "/32")},
		Until: time.Now().Add(time.Hour)}
}

// outcomes collects a Runner's outcomes with the (bubble's) time of each.
type outcomes struct {
	mu  sync.Mutex
	all []Outcome
	at  []time.Duration
	t0  time.Time
}

func (o *outcomes) add(out Outcome) {
	o.mu.Lock()
	o.all = append(o.all, out)
	o.at = append(o.at, time.Since(o.t0))
	o.mu.Unlock()
}

func keys(ds []jail.Decision) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Key.String())
	}
	return strings.Join(s, ",")
}

func TestRunnerBackoffDoublesToAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake("fake", nil)
		f.FailWith(func(jail.Decision) error { return errDown })
		o := &outcomes{t0: time.Now()}
		r := NewRunner(f, RunnerOptions{Jail: "j", Type: "fake", Outcome: o.add})
		r.Submit(ban("192.0.2.1"))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		var want []time.Duration
		for at, step := time.Duration(0), time.Second; at <= 5*time.Minute; at, step = at+step, min(2*step, time.Minute) {
			want = append(want, at)
		}
		if len(o.at) != len(want) {
			t.Fatalf("attempts at %v, want %v", o.at, want)
		}
		for i := range want {
			if o.at[i] != want[i] {
				t.Fatalf("attempts at %v, want %v", o.at, want)
			}
		}
		st := r.State()
		if st.Queued != 1 || st.Since.IsZero() || st.Err == "" || st.Dropped != 0 {
			t.Errorf("state %+v: want 1 queued, failing, nothing dropped (retries 0 = until it works)", st)
		}
		f.FailWith(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := r.State(); st.Queued != 0 || !st.Since.IsZero() || st.Held != 1 {
			t.Errorf("after recovery: %+v", st)
		}
		if err := r.Close(); err != nil || !f.Closed() {
			t.Errorf("close: %v, closed %v", err, f.Closed())
		}
	})
}

func TestRunnerRetriesThenDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMetrics(prometheus.NewRegistry())
		f := NewFake("fake", nil)
		f.FailWith(func(jail.Decision) error { return errDown })
		o := &outcomes{t0: time.Now()}
		r := NewRunner(f, RunnerOptions{Jail: "j", Type: "fake", Retries: 2, Metrics: m, Outcome: o.add})
		defer r.Close()
		r.Submit(ban("192.0.2.1"))
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(f.Batches()); n != 3 {
			t.Errorf("%d attempts, want 3 (the first and 2 retries)", n)
		}
		last := o.all[len(o.all)-1]
		if keys(last.Dropped) != "192.0.2.1" {
			t.Errorf("last outcome %+v: want 192.0.2.1 dropped", last)
		}
		if st := r.State(); st.Queued != 0 || st.Dropped != 1 {
			t.Errorf("state %+v", st)
		}
		for name, c := range map[string]prometheus.Collector{
			"dropped_total 1": m.dropped.WithLabelValues("j", "fake"), "errors_total 3": m.errors.WithLabelValues("j", "fake"),
			"decisions_total{dropped} 1": m.decisions.WithLabelValues("j", "fake", resultDropped),
			"decisions_total{failed} 3":  m.decisions.WithLabelValues("j", "fake", resultFailed),
			"queue_length 0":             m.queueLength.WithLabelValues("j", "fake"),
		} {
			if got := name[:strings.LastIndexByte(name, ' ')] + " " + fmt.Sprint(testutil.ToFloat64(c)); got != name {
				t.Errorf("peerjail_action_%s, want %s", got, name)
			}
		}
	})
}

func TestRunnerDropsOldestWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake("fake", nil)
		f.FailWith(func(jail.Decision) error { return errDown })
		o := &outcomes{t0: time.Now()}
		r := NewRunner(f, RunnerOptions{Jail: "j", Type: "fake", Queue: 3, Outcome: o.add})
		defer r.Close()
		r.Submit(ban("192.0.2.1"))
		synctest.Wait() // the first attempt failed; backing off
		r.Submit(ban("192.0.2.2"), ban("192.0.2.3"), ban("192.0.2.4"))
		if st := r.State(); st.Queued != 3 || st.Dropped != 1 {
			t.Errorf("state %+v: want 3 queued, 1 dropped", st)
		}
		f.FailWith(nil)
		time.Sleep(time.Second)
		synctest.Wait()
		b := f.Batches()
		if got := keys(b[len(b)-1]); got != "192.0.2.2,192.0.2.3,192.0.2.4" {
			t.Errorf("applied %s: want the three newest", got)
		}
		var dropped []string
		for _, out := range o.all {
			if len(out.Dropped) > 0 {
				dropped = append(dropped, keys(out.Dropped))
			}
		}
		if strings.Join(dropped, ";") != "192.0.2.1" {
			t.Errorf("dropped %v: want the oldest", dropped)
		}
	})
}

func TestRunnerRetriesOnlyTheFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake("fake", nil)
		bad := ban("192.0.2.2").Key
		f.FailWith(func(d jail.Decision) error {
			if d.Key == bad {
				return errDown
			}
			return nil
		})
		o := &outcomes{t0: time.Now()}
		r := NewRunner(f, RunnerOptions{Jail: "j", Type: "fake", Outcome: o.add})
		defer r.Close()
		r.Submit(ban("192.0.2.1"), ban("192.0.2.2"), ban("192.0.2.3"))
		synctest.Wait()
		f.FailWith(nil)
		time.Sleep(time.Second)
		synctest.Wait()
		b := f.Batches()
		if len(b) != 2 || keys(b[0]) != "192.0.2.1,192.0.2.2,192.0.2.3" || keys(b[1]) != "192.0.2.2" {
			t.Errorf("batches %v: want all three, then only the failed one", b)
		}
		if keys(o.all[0].Applied) != "192.0.2.1,192.0.2.3" || keys(o.all[0].Retry) != "192.0.2.2" {
			t.Errorf("first outcome %+v", o.all[0])
		}
		if st := r.State(); st.Held != 3 || st.Queued != 0 {
			t.Errorf("state %+v", st)
		}
	})
}

// A decision on a key the action does not take never reaches it.
func TestRunnerSkipsKeysNotTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake("ids", func(k jail.Key) bool { return k.ID != "" })
		r := NewRunner(f, RunnerOptions{Jail: "j"})
		r.Submit(ban("192.0.2.1"), jail.Decision{Action: jail.ActionBan, Jail: "j", Key: jail.Key{ID: "node1"}})
		synctest.Wait()
		r.Close()
		b := f.Batches()
		if len(b) != 1 || keys(b[0]) != "node1" {
			t.Errorf("batches %v", b)
		}
	})
}

// Close returns while the action is backing off, and once it has, the
// goroutine is gone (the bubble would not end otherwise).
func TestRunnerCloseJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake("fake", nil)
		f.FailWith(func(jail.Decision) error { return errDown })
		r := NewRunner(f, RunnerOptions{Jail: "j"})
		r.Submit(ban("192.0.2.1"))
		synctest.Wait()
		start := time.Now()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Close waited %v for the backoff", time.Since(start))
		}
		select {
		case <-r.done:
		default:
			t.Error("the runner's goroutine has not ended")
		}
	})
}

func TestRunnerLogsOncePerStateChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
		f := NewFake("fake", nil)
		f.FailWith(func(jail.Decision) error { return errDown })
		r := NewRunner(f, RunnerOptions{Jail: "j", Logger: log})
		defer r.Close()
		r.Submit(ban("192.0.2.1"))
		time.Sleep(30 * time.Second) // five attempts
		synctest.Wait()
		f.FailWith(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		if n := strings.Count(out, "level=ERROR"); n != 1 {
			t.Errorf("%d errors logged, want 1:\n%s", n, out)
		}
		if !strings.Contains(out, "action works again") {
			t.Errorf("no recovery logged:\n%s", out)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
