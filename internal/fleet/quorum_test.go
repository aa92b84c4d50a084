package fleet

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerjail/peerjail/internal/config"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// step is one event for the table: a report (reporter set), a local hit
// (hit set) or a sweep; at is minutes after t0, now defaults to at.
type step struct {
	reporter string
	action   Action
	key      string
	hit      bool
	sweep    bool
	at, now  float64
	want     []string // decisions, as "ban KEY [reporters] until+MIN" / "unban KEY reason"
}

func TestQuorumTable(t *testing.T) {
	pol := config.FleetPolicy{Quorum: 2, Window: 10 * time.Minute, BanTime: 60 * time.Minute}
	local := pol
	local.NeedLocalHit = true
	k := "192.0.2.1"
	for _, tc := range []struct {
		name      string
		pol       config.FleetPolicy
		protected string
		max       int
		steps     []step
	}{
		{name: "two reporters make the quorum", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 1, want: []string{"ban 192.0.2.1 [a b] at 1 until 61"}},
			{reporter: "c", action: Ban, key: k, at: 2}, // already banned
		}},
		{name: "one reporter twice is one", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "a", action: Ban, key: k, at: 1},
			{reporter: "a", action: Ban, key: "192.0.2.2", at: 2},
		}},
		{name: "a report older than the window does not count", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 10},
			{reporter: "a", action: Ban, key: k, at: 19.9, want: []string{"ban 192.0.2.1 [a b] at 19.9 until 79.9"}},
		}},
		{name: "a replayed or older report changes nothing", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 5},
			{reporter: "a", action: Unban, key: k, at: 4},
			{reporter: "b", action: Ban, key: k, at: 6, want: []string{"ban 192.0.2.1 [a b] at 6 until 66"}},
			{reporter: "b", action: Ban, key: k, at: 6},
		}},
		{name: "withdrawn below the quorum", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 1, want: []string{"ban 192.0.2.1 [a b] at 1 until 61"}},
			{reporter: "c", action: Unban, key: k, at: 2}, // never reported it
			{reporter: "b", action: Unban, key: k, at: 3, want: []string{"unban 192.0.2.1 withdrawn [a]"}},
			{reporter: "a", action: Unban, key: k, at: 4},
		}},
		{name: "expiry lifts the ban and a new quorum needs new reports", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 1, want: []string{"ban 192.0.2.1 [a b] at 1 until 61"}},
			{sweep: true, at: 60.9},
			{sweep: true, at: 61, want: []string{"unban 192.0.2.1 expired []"}},
			{reporter: "a", action: Ban, key: k, at: 62},
		}},
		{name: "a ban that ended while the host was away is not made", pol: pol, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0, now: 90},
			{reporter: "b", action: Ban, key: k, at: 1, now: 90},
			{reporter: "c", action: Ban, key: k, at: 80, now: 90},
			{reporter: "a", action: Ban, key: k, at: 81, now: 90, want: []string{"ban 192.0.2.1 [a c] at 81 until 141"}},
		}},
		{name: "local rules win", pol: pol, protected: k, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 1},
			{reporter: "a", action: Ban, key: "192.0.2.2", at: 2},
			{reporter: "b", action: Ban, key: "192.0.2.2", at: 3, want: []string{"ban 192.0.2.2 [a b] at 3 until 63"}},
		}},
		{name: "need_local_hit waits for the hit", pol: local, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "b", action: Ban, key: k, at: 1},
			{hit: true, key: "192.0.2.9", at: 2},
			{hit: true, key: k, at: 3, want: []string{"ban 192.0.2.1 [a b] at 3 until 63"}},
		}},
		{name: "need_local_hit with the hit first", pol: local, steps: []step{
			{hit: true, key: k, at: 0},
			{reporter: "a", action: Ban, key: k, at: 1},
			{reporter: "b", action: Ban, key: k, at: 2, want: []string{"ban 192.0.2.1 [a b] at 2 until 62"}},
		}},
		{name: "need_local_hit: a hit older than the window is none", pol: local, steps: []step{
			{hit: true, key: k, at: 0},
			{reporter: "a", action: Ban, key: k, at: 9},
			{reporter: "b", action: Ban, key: k, at: 10},
		}},
		{name: "a full table drops new keys", pol: pol, max: 1, steps: []step{
			{reporter: "a", action: Ban, key: k, at: 0},
			{reporter: "a", action: Ban, key: "192.0.2.2", at: 1},
			{reporter: "b", action: Ban, key: "192.0.2.2", at: 2},
			{reporter: "b", action: Ban, key: k, at: 3, want: []string{"ban 192.0.2.1 [a b] at 3 until 63"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.max
			if size == 0 {
				size = 100
			}
			tb := newTable(map[string]config.FleetPolicy{"libp2p": tc.pol},
				func(_, key string) bool { return key == tc.protected }, size)
			for i, s := range tc.steps {
				at := t0.Add(time.Duration(s.at * float64(time.Minute)))
				now := at
				if s.now != 0 {
					now = t0.Add(time.Duration(s.now * float64(time.Minute)))
				}
				var got []string
				switch {
				case s.sweep:
					for _, d := range tb.sweep(now) {
						got = append(got, show(d))
					}
				case s.hit:
					if d, ok := tb.hit("libp2p", s.key, now); ok {
						got = append(got, show(d))
					}
				default:
					if d, ok := tb.observe(received{Reporter: s.reporter, Jail: "libp2p", Key: s.key, Action: s.action, At: at}, now); ok {
						got = append(got, show(d))
					}
				}
				if !reflect.DeepEqual(got, s.want) {
					t.Errorf("step %d: got %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

func show(d Decision) string {
	min := func(t time.Time) string { return fmt.Sprint(t.Sub(t0).Minutes()) }
	if d.Action == Unban {
		return fmt.Sprintf("unban %s %s %v", d.Key, d.Reason, d.Reporters)
	}
	return fmt.Sprintf("ban %s %v at %s until %s", d.Key, d.Reporters, min(d.At), min(d.Until))
}

func TestReportsOfOtherJailsAreIgnored(t *testing.T) {
	tb := newTable(map[string]config.FleetPolicy{"libp2p": {Quorum: 1, Window: time.Minute, BanTime: time.Hour}}, nil, 10)
	if d, ok := tb.observe(received{Reporter: "a", Jail: "sshd", Key: "192.0.2.1", Action: Ban, At: t0}, t0); ok {
		t.Errorf("decision %+v for a jail without fleet policy", d)
	}
	if len(tb.slots) != 0 {
		t.Errorf("table keeps %d keys of a jail without policy", len(tb.slots))
	}
}

// TestFleetExpiresOnItsClock runs a Fleet's sweeper on a fake clock: votes
// leave the window and bans end as time passes, with no server involved.
func TestFleetExpiresOnItsClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := New(config.Fleet{Servers: []string{"nats://127.0.0.1:4222"}, Reporter: "host-a", Subject: "peerjail.reports"},
			Options{Outbox: NewMemOutbox(0), Policies: policy(2)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); f.sweepLoop(ctx) }()
		report := func(who, key string) {
			if !f.count(ctx, received{Reporter: who, Jail: "libp2p", Key: key, Action: Ban, At: time.Now()}, true) {
				t.Fatal("count: not delivered")
			}
		}
		report("a", "192.0.2.1")
		time.Sleep(10*time.Minute + time.Second) // a's report leaves the window
		report("b", "192.0.2.1")
		synctest.Wait()
		if len(f.out) != 0 {
			t.Fatalf("decision %+v from reports 10m apart", <-f.out)
		}
		if n := len(f.Status(ctx).Jails[0].Pending); n != 1 || f.Status(ctx).Jails[0].Pending[0] != 1 {
			t.Errorf("pending %v, want one key with one reporter", f.Status(ctx).Jails[0].Pending)
		}
		report("c", "192.0.2.1")
		if d := <-f.out; d.Action != Ban || d.Until.Sub(d.At) != time.Hour {
			t.Fatalf("decision %+v, want a ban of 1h", d)
		}
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		select {
		case d := <-f.out:
			if d.Action != Unban || d.Reason != "expired" {
				t.Errorf("decision %+v, want the ban's expiry", d)
			}
		default:
			t.Error("no unban when the fleet ban ended")
		}
		if st := f.Status(ctx); st.Jails[0].Banned != 0 || st.Jails[0].Pending[0] != 0 {
			t.Errorf("after expiry %+v, want nothing banned or pending", st.Jails[0])
		}
		cancel()
		<-done
	})
}
