package timestamp

import (
	"testing"
	"time"
	_ "time/tzdata" // the zone below even where the system has no zoneinfo
)

// TestLocalZoneChanges feeds one detector zone-less times on both sides of
// Berlin's DST changes, in an order that makes its zone cache change period
// back and forth, and checks each against time.Date.
func TestLocalZoneChanges(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(Options{Location: berlin, Reference: func() time.Time { return refTime }})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"2024-03-30 12:00:00", "2024-03-31 01:59:59", "2024-03-31 03:00:00",
		"2024-03-31 02:30:00", // does not exist: time.Date moves it on
		"2024-06-01 12:00:00", "2024-10-27 01:59:59", "2024-10-27 03:00:00",
		"2024-12-01 00:00:00", "2024-03-31 01:00:00", "2024-07-27 12:00:00",
		"2024-10-27 02:30:00", // happens twice: either is right
		"2024-01-01 00:00:00",
	}
	for _, line := range lines {
		got, ok := d.Find([]byte(line))
		if !ok {
			t.Errorf("Find(%q) found nothing", line)
			continue
		}
		w, err := time.ParseInLocation(time.DateTime, line, berlin)
		if err != nil {
			t.Fatal(err)
		}
		if line == "2024-10-27 02:30:00" {
			if got.In(berlin).Format(time.DateTime) != line {
				t.Errorf("Find(%q) = %v, which reads %s in Berlin", line, got, got.In(berlin).Format(time.DateTime))
			}
			continue
		}
		if !got.Equal(w) {
			t.Errorf("Find(%q) = %v, want %v", line, got, w)
		}
		if got.Location() != berlin {
			t.Errorf("Find(%q) in %v, want Europe/Berlin", line, got.Location())
		}
	}
	line := []byte("2024-07-27 12:00:00 x")
	d.Find(line)
	if n := testing.AllocsPerRun(10, func() { d.Find(line) }); n != 0 {
		t.Errorf("Find of a local time allocates %.0f times", n)
	}
}
