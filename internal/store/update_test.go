package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpdateIsAtomic(t *testing.T) {
	good := Ban{Jail: "sshd", Key: "203.0.113.1", At: t0, Until: t0.Add(time.Hour), Offences: 1}
	long := strings.Repeat("x", maxRecordKey)
	tests := []struct {
		name  string
		batch Batch
	}{
		{"empty key after good bans", Batch{PutBans: []Ban{good, {Jail: "sshd", Key: "198.51.100.9", Until: t0}, {Jail: "sshd"}}}},
		{"empty jail", Batch{PutBans: []Ban{good, {Key: "198.51.100.9"}}}},
		{"NUL in jail", Batch{PutBans: []Ban{good, {Jail: "ss\x00hd", Key: "198.51.100.9"}}}},
		{"key too long", Batch{PutBans: []Ban{good, {Jail: "sshd", Key: long}}}},
		{"negative offences", Batch{PutBans: []Ban{good, {Jail: "sshd", Key: "k", Offences: -1}}}},
		{"bad offender after bans", Batch{PutBans: []Ban{good}, PutOffenders: []Offender{{Jail: "sshd", Key: "k", Offences: -5}}}},
		{"bad delete", Batch{DeleteBans: []BanKey{{Jail: "sshd", Key: "203.0.113.99"}, {}}, PutBans: []Ban{good}}},
		{"bad source name last", Batch{PutBans: []Ban{good}, PutOffenders: []Offender{{Jail: "sshd", Key: "k"}}, Positions: map[string]string{"": "1"}}},
		{"source name too long", Batch{PutBans: []Ban{good}, Positions: map[string]string{strings.Repeat("/", maxSourceKey+1): "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			before := Ban{Jail: "sshd", Key: "203.0.113.99", Until: t0.Add(time.Minute)}
			mustUpdate(t, s, Batch{PutBans: []Ban{before}, Positions: map[string]string{"/log": "7"}})

			tt.batch.Positions = mergePositions(tt.batch.Positions, map[string]string{"/log": "8"})
			err := s.Update(tt.batch)
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Update: %v, want ErrInvalidRecord", err)
			}
			if got := mustBans(t, s); !reflect.DeepEqual(got, []Ban{before}) {
				t.Errorf("bans after failed batch: %+v, want only %+v", got, before)
			}
			if got, _ := s.Offenders(""); len(got) != 0 {
				t.Errorf("offenders after failed batch: %+v", got)
			}
			if pos, _, _ := s.Position("/log"); pos != "7" {
				t.Errorf("position after failed batch: %q, want 7", pos)
			}
		})
	}
}

func mergePositions(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func TestUpdateDeletesBeforePuts(t *testing.T) {
	s, _ := openTemp(t)
	old := Ban{Jail: "sshd", Key: "203.0.113.7", At: t0, Until: t0.Add(time.Minute), Offences: 1}
	gone := Ban{Jail: "sshd", Key: "203.0.113.8", At: t0, Until: t0.Add(time.Minute), Offences: 1}
	mustUpdate(t, s, Batch{PutBans: []Ban{old, gone}})

	reban := old
	reban.Until, reban.Offences = t0.Add(2*time.Hour), 2
	mustUpdate(t, s, Batch{
		DeleteBans: []BanKey{{"sshd", old.Key}, {"sshd", gone.Key}, {"sshd", "never-banned"}},
		PutBans:    []Ban{reban},
	})
	if got := mustBans(t, s); !reflect.DeepEqual(got, []Ban{reban}) {
		t.Errorf("bans: %+v, want %+v", got, reban)
	}
}

func TestUpdateReplacesRecords(t *testing.T) {
	s, _ := openTemp(t)
	o := Offender{Jail: "sshd", Key: "k", Offences: 1, Last: t0}
	mustUpdate(t, s, Batch{PutOffenders: []Offender{o}})
	o.Offences, o.Last = 2, t0.Add(time.Hour)
	mustUpdate(t, s, Batch{PutOffenders: []Offender{o}})
	if got, _ := s.Offenders("sshd"); !reflect.DeepEqual(got, []Offender{o}) {
		t.Errorf("offenders: %+v, want %+v", got, o)
	}
}

func TestEmptyUpdateIsNoOp(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Update(Batch{Positions: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A write on a closed store fails, so an empty batch must not write.
	if err := s.Update(Batch{}); err != nil {
		t.Errorf("empty Update on closed store: %v", err)
	}
	if err := s.Update(Batch{PutBans: []Ban{{Jail: "a", Key: "b"}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Update on closed store: %v, want ErrClosed", err)
	}
}
