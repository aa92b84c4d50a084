package store

import (
	"reflect"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	const retention = 7 * 24 * time.Hour
	bans := []Ban{
		{Jail: "a", Key: "expired", Until: now.Add(-time.Second)},
		{Jail: "a", Key: "ends-now", Until: now},
		{Jail: "a", Key: "active", Until: now.Add(time.Nanosecond)},
		{Jail: "b", Key: "active", Until: now.Add(time.Hour)},
	}
	offenders := []Offender{
		{Jail: "a", Key: "old", Offences: 4, Last: now.Add(-retention - time.Second)},
		{Jail: "a", Key: "at-cutoff", Offences: 1, Last: now.Add(-retention)},
		{Jail: "a", Key: "recent", Offences: 2, Last: now.Add(-time.Hour)},
	}
	tests := []struct {
		name          string
		retention     time.Duration
		wantBans      []Ban
		wantOffenders []Offender
		dropped       [2]int
	}{
		{"retention", retention, bans[2:], offenders[1:], [2]int{2, 1}},
		{"zero retention keeps history", 0, bans[2:], []Offender{offenders[1], offenders[0], offenders[2]}, [2]int{2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			mustUpdate(t, s, Batch{PutBans: bans, PutOffenders: offenders})
			nb, no, err := s.Prune(now, tt.retention)
			if err != nil {
				t.Fatal(err)
			}
			if [2]int{nb, no} != tt.dropped {
				t.Errorf("Prune dropped %d bans, %d offenders; want %v", nb, no, tt.dropped)
			}
			if got := mustBans(t, s); !reflect.DeepEqual(got, tt.wantBans) {
				t.Errorf("bans: %+v\nwant %+v", got, tt.wantBans)
			}
			if got, _ := s.Offenders("a"); !reflect.DeepEqual(got, tt.wantOffenders) {
				t.Errorf("offenders: %+v\nwant %+v", got, tt.wantOffenders)
			}
			// Pruning again at the same time finds nothing more.
			if nb, no, err := s.Prune(now, tt.retention); nb != 0 || no != 0 || err != nil {
				t.Errorf("second Prune: %d, %d, %v", nb, no, err)
			}
		})
	}
}
