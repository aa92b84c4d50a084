package fleet

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestOutboxes(t *testing.T) {
	for name, open := range map[string]func(t *testing.T, max int) Outbox{
		"bolt": func(t *testing.T, max int) Outbox {
			o, err := OpenBoltOutbox(filepath.Join(t.TempDir(), "o.db"), max)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { o.Close() })
			return o
		},
		"mem": func(_ *testing.T, max int) Outbox { return NewMemOutbox(max) },
	} {
		t.Run(name, func(t *testing.T) {
			o := open(t, 3)
			for i := range 5 {
				dropped, err := o.Put(Envelope{ID: fmt.Sprint(i), Subject: "s", Data: []byte{byte(i)}})
				if err != nil {
					t.Fatal(err)
				}
				if want := max(i-2, 0) - max(i-3, 0); dropped != want {
					t.Errorf("put %d dropped %d, want %d", i, dropped, want)
				}
			}
			qs, err := o.Peek(2)
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != 2 || qs[0].ID != "2" || qs[1].ID != "3" || o.Len() != 3 {
				t.Fatalf("peek %+v len %d: want the oldest kept, 2 and 3, of 3", qs, o.Len())
			}
			if err := o.Delete([]uint64{qs[0].Seq, qs[1].Seq, 999}); err != nil {
				t.Fatal(err)
			}
			qs, _ = o.Peek(10)
			if len(qs) != 1 || qs[0].ID != "4" || string(qs[0].Data) != "\x04" || o.Len() != 1 {
				t.Errorf("after delete %+v len %d: want 4 alone", qs, o.Len())
			}
			// A batch goes in whole, in order, dropping the oldest; one
			// larger than the outbox keeps its newest.
			dropped, err := o.Put(Envelope{ID: "5"}, Envelope{ID: "6"}, Envelope{ID: "7"})
			if qs, _ = o.Peek(10); err != nil || dropped != 1 || len(qs) != 3 || qs[0].ID != "5" || qs[2].ID != "7" {
				t.Errorf("batch of 3 over 1: dropped %d (%v), %+v; want 4 dropped and 5, 6, 7", dropped, err, qs)
			}
			dropped, err = o.Put(Envelope{ID: "8"}, Envelope{ID: "9"}, Envelope{ID: "10"}, Envelope{ID: "11"})
			if qs, _ = o.Peek(10); err != nil || dropped != 4 || len(qs) != 3 || qs[0].ID != "9" || qs[2].ID != "11" || o.Len() != 3 {
				t.Errorf("batch of 4 over 3: dropped %d (%v), %+v len %d; want 4 dropped and 9, 10, 11", dropped, err, qs, o.Len())
			}
		})
	}
}

func TestBoltOutboxSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	o, err := OpenBoltOutbox(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := o.Put(Envelope{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o, err = OpenBoltOutbox(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	qs, _ := o.Peek(10)
	if o.Len() != 3 || len(qs) != 3 || qs[0].ID != "0" || qs[2].ID != "2" {
		t.Errorf("reopened: len %d, %+v; want the 3 reports in order", o.Len(), qs)
	}
	if _, err := o.Put(Envelope{ID: "3"}); err != nil {
		t.Fatal(err)
	}
	if qs, _ := o.Peek(10); qs[3].Seq <= qs[2].Seq {
		t.Errorf("a report put after reopening sorts before older ones: %+v", qs)
	}
}
