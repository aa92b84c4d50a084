package jail

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

// AddHit and AddLiveHit decide what Add and AddLive decide, on twin
// counters fed the same hits, and return the key KeyOf names.
func TestAddHitAgreesWithAdd(t *testing.T) {
	cfg := basic()
	cfg.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	cfg.IPv6Prefix = 64
	tests := []struct {
		name string
		hit  filter.Hit
		at   time.Duration
	}{
		{"address", hit("192.0.2.1", 1), 0},
		{"address again", hit("192.0.2.1", 1), time.Second},
		{"ignored address", hit("198.51.100.7", 1), time.Second},
		{"identity", hit("12D3KooWpeer", 1), 2 * time.Second},
		{"names no one", filter.Hit{Weight: 1}, 2 * time.Second},
		{"IPv6 grouped by /64", hit("2001:db8::1", 1), 3 * time.Second},
		{"ban", hit("192.0.2.1", 1), 3 * time.Second},
		{"banned already", hit("192.0.2.1", 1), 4 * time.Second},
		{"weight bans at once", hit("2001:db8::2", 5), 5 * time.Second},
		{"zero time takes the hit's", filter.Hit{Host: hostOf("192.0.2.9"), Weight: 3, Time: ts(6 * time.Second)}, -1},
	}
	for _, live := range []bool{false, true} {
		a, b := mustNew(t, cfg), mustNew(t, cfg)
		now := ts(10 * time.Second)
		for _, tt := range tests {
			at := ts(tt.at)
			if tt.at < 0 {
				at = time.Time{}
			}
			var wantD Decision
			var wantV Verdict
			if live {
				wantD, wantV = a.AddLive(tt.hit, at, now, []byte(tt.name))
			} else {
				wantD, wantV = a.Add(tt.hit, at, []byte(tt.name))
			}
			h := tt.hit
			var d Decision
			var k Key
			var v Verdict
			if live {
				k, v = b.AddLiveHit(&d, &h, at, now, []byte(tt.name))
			} else {
				k, v = b.AddHit(&d, &h, at, []byte(tt.name))
			}
			if v != wantV {
				t.Fatalf("live=%v %s: verdict %v, Add says %v", live, tt.name, v, wantV)
			}
			if v == Banned && !reflect.DeepEqual(d, wantD) {
				t.Fatalf("live=%v %s: decision\n%+v\nAdd's\n%+v", live, tt.name, d, wantD)
			}
			wantK, ok := b.KeyOf(&h)
			if v == InvalidHost {
				if ok || k.IsValid() {
					t.Fatalf("live=%v %s: key %v for a hit that names no one", live, tt.name, k)
				}
				continue
			}
			if k != wantK {
				t.Fatalf("live=%v %s: key %v, KeyOf says %v", live, tt.name, k, wantK)
			}
		}
		if !reflect.DeepEqual(a.Stats(now), b.Stats(now)) {
			t.Fatalf("live=%v: stats %+v, Add's %+v", live, b.Stats(now), a.Stats(now))
		}
	}
}
