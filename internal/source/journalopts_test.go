package source

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckMatches(t *testing.T) {
	tests := []struct {
		matches []string
		ok      bool
	}{
		{nil, true},
		{[]string{"_SYSTEMD_UNIT=ipfs.service", "SYSLOG_IDENTIFIER=ipfs"}, true},
		{[]string{"MESSAGE="}, true},
		{[]string{"PRIORITY=3=4"}, true},
		{[]string{"ipfs.service"}, false},
		{[]string{"=value"}, false},
		{[]string{"_systemd_unit=x"}, false},
		{[]string{"1FIELD=x"}, false},
		{[]string{"FIELD-X=x"}, false},
		{[]string{"OK=1", "bad"}, false},
	}
	for _, tt := range tests {
		err := checkMatches(tt.matches)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadMatch)) {
			t.Errorf("checkMatches(%q) = %v", tt.matches, err)
		}
	}
}

func TestJournalNameJoinsMatches(t *testing.T) {
	got := journalName([]string{"_SYSTEMD_UNIT=ipfs.service", "SYSLOG_IDENTIFIER=ipfs"})
	if want := "journal:_SYSTEMD_UNIT=ipfs.service+SYSLOG_IDENTIFIER=ipfs"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzCheckMatches(f *testing.F) {
	for _, s := range []string{"_SYSTEMD_UNIT=ipfs.service", "=", "A=", "a=b", "1=2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, m string) {
		if checkMatches([]string{m}) != nil {
			return
		}
		field, _, ok := strings.Cut(m, "=")
		if !ok || field == "" || strings.ToUpper(field) != field || field[0] >= '0' && field[0] <= '9' {
			t.Fatalf("%q accepted", m)
		}
	})
}
