package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// timedKernel is the fake kernel with verifications that take a while, as
// listing large sets does, and a watch that can be made to fail. It notes
// when each verification started.
type timedKernel struct {
	*firewall.Fake
	took      time.Duration
	failWatch bool

	mu       sync.Mutex
	start    time.Time
	verifies []time.Duration // since start
	watches  int
}

func (k *timedKernel) Verify(ctx context.Context, jails []firewall.Jail, bans []firewall.Change) (firewall.Drift, error) {
	k.mu.Lock()
	k.verifies = append(k.verifies, time.Since(k.start))
	k.mu.Unlock()
	time.Sleep(k.took)
	return k.Fake.Verify(ctx, jails, bans)
}

func (k *timedKernel) Watch(ctx context.Context, changed func()) error {
	k.mu.Lock()
	k.watches++
	k.mu.Unlock()
	if k.failWatch {
		return errors.New("netlink: no buffer space available")
	}
	return k.Fake.Watch(ctx, changed)
}

func (k *timedKernel) seen() (verifies []time.Duration, watches int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Duration(nil), k.verifies...), k.watches
}

// newTimedEnforcer is newTestEnforcer on a timedKernel, in a synctest bubble.
func newTimedEnforcer(t *testing.T, k *timedKernel) (*enforcer, *prometheus.Registry, *logBuf) {
	t.Helper()
	k.Fake.SetClock(time.Now)
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, logs := prometheus.NewRegistry(), &logBuf{}
	memo := &setupMemo{Firewall: k}
	e := &enforcer{kernel: memo, memo: memo, st: st,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		now: time.Now, m: newMetrics(reg), jails: map[string]*jailActions{"ssh": {kernel: true}}, positions: map[string]string{}}
	if err := memo.Setup(context.Background(), []firewall.Jail{{Name: "ssh"}}); err != nil {
		t.Fatal(err)
	}
	k.start = time.Now()
	return e, reg, logs
}

// The period stretches to share times the last verification's duration:
// a kernel whose listing takes 1 s is verified every 100 s, not every 10 s.
func TestVerifyPeriodFollowsItsCost(t *testing.T) {
	tests := []struct {
		took time.Duration
		want []time.Duration // verification starts in the first 5 minutes
	}{
		{0, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}}, // and so on
		{time.Second, []time.Duration{10 * time.Second, 111 * time.Second, 212 * time.Second}},
		{50 * time.Millisecond, []time.Duration{10 * time.Second, 20050 * time.Millisecond, 30100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("listing takes ", tt.took), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := &timedKernel{Fake: firewall.NewFake(), took: tt.took}
				e, _, _ := newTimedEnforcer(t, k)
				e.startVerifying(verifyOptions{every: 10 * time.Second, share: 100})
				time.Sleep(5 * time.Minute)
				synctest.Wait()
				if err := e.stopVerifying(); err != nil {
					t.Fatal(err)
				}
				got, _ := k.seen()
				if len(got) < len(tt.want) || fmt.Sprint(got[:len(tt.want)]) != fmt.Sprint(tt.want) {
					t.Errorf("verifications at %v, want them to start %v", got, tt.want)
				}
			})
		})
	}
}

// A burst of kernel events (nft -f flushing, then loading) is verified
// once, watchSettle after the first event; a later event is verified again.
func TestWatchEventsSettleIntoOneVerification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &timedKernel{Fake: firewall.NewFake()}
		e, _, _ := newTimedEnforcer(t, k)
		e.queue(banOf("198.51.100.7", time.Hour))
		if err := e.flush(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		e.startVerifying(verifyOptions{every: time.Hour, watch: true})
		defer e.stopVerifying()
		synctest.Wait() // watching
		for range 5 {
			k.DeleteElement("ssh", netip.MustParsePrefix("198.51.100.7/32"))
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Second)
		k.DeleteElement("ssh", netip.MustParsePrefix("198.51.100.7/32"))
		time.Sleep(time.Second)
		synctest.Wait()
		got, _ := k.seen()
		want := []time.Duration{watchSettle, time.Second + 25*time.Millisecond + watchSettle}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("verifications at %v, want %v", got, want)
		}
		if _, ok := remaining(k.Fake, "198.51.100.7/32"); !ok {
			t.Error("the deleted ban was not put back")
		}
	})
}

// A watch that fails is retried every watchRetry, each failure asks for a
// verification (it may have missed changes), and it is logged once, not
// per retry; each failure counts in the metrics.
func TestFailingWatchRetriedAndLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &timedKernel{Fake: firewall.NewFake(), failWatch: true}
		e, reg, logs := newTimedEnforcer(t, k)
		e.startVerifying(verifyOptions{every: time.Hour, watch: true})
		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		if err := e.stopVerifying(); err != nil {
			t.Fatal(err)
		}
		verifies, watches := k.seen()
		if watches != 10 {
			t.Errorf("%d watches in 10s, want one a second", watches)
		}
		if len(verifies) != 10 || verifies[0] != watchSettle {
			t.Errorf("verifications at %v, want one after each failure, the first after watchSettle", verifies)
		}
		if n := logs.count("watching nftables events failed"); n != 1 {
			t.Errorf("the failing watch logged %d times, want once:\n%s", n, logs)
		}
		if n := metricValue(t, reg, "peerjail_firewall_errors_total", "op", "watch"); n != 10 {
			t.Errorf("peerjail_firewall_errors_total{op=watch} = %v, want 10", n)
		}
	})
}

// A verification that does not end (a listing stuck in netlink) leaves the
// kernel unchecked: after verifyLateAfter periods health says so, and the
// gauges show when it last was; verifications that end are never late.
func TestVerifyLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &timedKernel{Fake: firewall.NewFake()}
		e, reg, _ := newTimedEnforcer(t, k)
		start := time.Now()
		e.startVerifying(verifyOptions{every: 10 * time.Second, share: 100})
		for range 30 {
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if late := e.verifyLate(time.Now()); late != 0 {
				t.Fatalf("at %v: late %v with verifications that end", time.Since(start), late)
			}
		}
		if got := mustMetricValue(t, reg, "peerjail_firewall_verify_interval_seconds"); got != 10 {
			t.Errorf("interval gauge %v, want 10", got)
		}
		if err := e.stopVerifying(); err != nil {
			t.Fatal(err)
		}
		if got := mustMetricValue(t, reg, "peerjail_firewall_last_verified_timestamp_seconds"); got != 0 {
			t.Errorf("last verified %v after the loop stopped, want 0", got)
		}

		k.took = 10 * time.Minute // the next listing hangs
		start = time.Now()
		e.startVerifying(verifyOptions{every: 10 * time.Second, share: 100})
		defer e.stopVerifying()
		time.Sleep(25 * time.Second)
		if late := e.verifyLate(time.Now()); late != 0 {
			t.Errorf("late %v 25 s after the start (period 10 s)", late)
		}
		time.Sleep(10 * time.Second)
		if late := e.verifyLate(time.Now()); late != 35*time.Second {
			t.Errorf("late %v, want 35s: no verification has ended since the start", late)
		}
		if got := mustMetricValue(t, reg, "peerjail_firewall_last_verified_timestamp_seconds"); got != float64(start.UnixNano())/1e9 {
			t.Errorf("last verified %v, want the loop's start %v", got, float64(start.UnixNano())/1e9)
		}
		time.Sleep(10 * time.Minute) // it ends; the next waits 100 times as long
		synctest.Wait()
		if late := e.verifyLate(time.Now()); late != 0 {
			t.Errorf("late %v after the listing ended", late)
		}
	})
}
