package timestamp

import (
	"testing"
	"time"
)

func TestParseValue(t *testing.T) {
	tests := []struct{ value, want string }{
		{"2024-07-27T00:00:00Z", "2024-07-27T00:00:00Z"},
		{"2024-07-27T00:00:00.000548005Z", "2024-07-27T00:00:00.000548005Z"},
		{"2024-07-27T02:00:00.5+02:00", "2024-07-27T00:00:00.5Z"},
		{"2024-07-27T02:00:00+0200", "2024-07-27T00:00:00Z"},
		{`"2024-07-27T00:00:00Z"`, "2024-07-27T00:00:00Z"},
		{"2024-07-27 00:00:00,123", "2024-07-27T00:00:00.123Z"},
		{"2024-07-27T00:00:00", "2024-07-27T00:00:00Z"},
		{"1722038400", "2024-07-27T00:00:00Z"},
		{"1722038400.123", "2024-07-27T00:00:00.123Z"},
		{"1722038400123", "2024-07-27T00:00:00.123Z"},
		{"1722038400123456", "2024-07-27T00:00:00.123456Z"},
		{"1722038400123456789", "2024-07-27T00:00:00.123456789Z"},
		{`"1722038400"`, "2024-07-27T00:00:00Z"},

		{"", ""},
		{`"`, ""},
		{`""`, ""},
		{"2024-07-27T00:00:00Z trailing", ""},
		{" 2024-07-27T00:00:00Z", ""},
		{"1722038400 ", ""},
		{"172203840", ""},
		{"17220384001234", ""},
		{"0722038400", ""},
		{"1722038400123.5", ""},
		{"1.2.3", ""},
		{"2024-13-01T00:00:00Z", ""},
		{"2024-07-27T24:00:00Z", ""},
		{"Jul 27 00:00:00", ""},
		{"27/Jul/2024:00:00:00 +0000", ""},
	}
	for _, tt := range tests {
		got, ok := ParseValueIn([]byte(tt.value), time.UTC)
		switch {
		case tt.want == "" && ok:
			t.Errorf("ParseValueIn(%q) = %s, want not a time", tt.value, got.Format(time.RFC3339Nano))
		case tt.want != "" && !ok:
			t.Errorf("ParseValueIn(%q) failed, want %s", tt.value, tt.want)
		case tt.want != "":
			if w, _ := time.Parse(time.RFC3339Nano, tt.want); !got.Equal(w) {
				t.Errorf("ParseValueIn(%q) = %s, want %s", tt.value, got.Format(time.RFC3339Nano), tt.want)
			}
		}
	}
}

func TestParseValueLocal(t *testing.T) {
	got, ok := ParseValue([]byte("2024-07-27T00:00:00"))
	want := time.Date(2024, 7, 27, 0, 0, 0, 0, time.Local)
	if !ok || !got.Equal(want) || got.Location() != time.Local {
		t.Errorf("ParseValue of a zone-less time = %v %v, want %v in time.Local", got, ok, want)
	}
}
