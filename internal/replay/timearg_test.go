package replay

import (
	"errors"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01T08:00:00Z", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{"2026-12-01T08:00:00.5+02:00", time.Date(2026, 12, 1, 6, 0, 0, 5e8, time.UTC)},
		{"2026-12-01 08:00", time.Date(2026, 12, 1, 8, 0, 0, 0, loc)},
		{"2026-12-01 08:00:05", time.Date(2026, 12, 1, 8, 0, 5, 0, loc)},
		{"2026-12-01T08:00", time.Date(2026, 12, 1, 8, 0, 0, 0, loc)},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		{"now", now},
		{"today", time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		{"yesterday", time.Date(2026, 11, 30, 0, 0, 0, 0, loc)},
		{"-2h", now.Add(-2 * time.Hour)},
		{"-1d12h", now.Add(-36 * time.Hour)},
		{"-3d", now.Add(-72 * time.Hour)},
		{"+90m", now.Add(90 * time.Minute)},
		{"@1764547200", time.Unix(1764547200, 0)},
	} {
		got, err := ParseTime(tc.in, now, loc)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "2h", "-", "-d", "-1x", "--2h", "-2h-1m", "2026-13-01", "Dec 1", "@x", "2026-12-01 25:00"} {
		if _, err := ParseTime(bad, now, loc); !errors.Is(err, ErrBadTime) {
			t.Errorf("ParseTime(%q) = %v, want ErrBadTime", bad, err)
		}
	}
}
