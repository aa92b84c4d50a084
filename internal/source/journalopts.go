package source

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
)

// ErrJournalUnsupported is returned by builds that cannot read journald:
// the reader needs Linux and cgo (sd-journal is loaded from libsystemd).
var ErrJournalUnsupported = errors.New("journald source needs linux and cgo")

// ErrBadMatch is returned for a journal match that is not FIELD=value.
var ErrBadMatch = errors.New("not a journal match FIELD=value")

// JournalOptions tunes a Journal source.
type JournalOptions struct {
	// Dir is a journal directory read instead of the system journal (tests).
	Dir    string
	Logger *slog.Logger
	// Fields fills Line.Fields with all the entry's fields, for filters on
	// journal fields; otherwise it holds only MESSAGE, _SYSTEMD_UNIT,
	// SYSLOG_IDENTIFIER and _PID.
	Fields bool
}

// journalSource is the Source of journal lines and the name their
// position is saved under.
const journalSource = "journal"

// journalName is the stable identity of a journal source.
func journalName(matches []string) string { return "journal:" + strings.Join(matches, "+") }

// checkMatches accepts FIELD=value matches, FIELD as journald allows it:
// upper-case letters, digits and underscores, not starting with a digit.
func checkMatches(matches []string) error {
	for _, m := range matches {
		field, _, ok := strings.Cut(m, "=")
		if !ok || !validField(field) {
			return fmt.Errorf("%q: %w", m, ErrBadMatch)
		}
	}
	return nil
}

func validField(f string) bool {
	if f == "" || len(f) > 64 || (f[0] >= '0' && f[0] <= '9') {
		return false
	}
	for _, c := range []byte(f) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// ErrNoJournal is returned by CheckJournal on a host without a journal.
var ErrNoJournal = errors.New("no journal on this host")

// journalDirs are where journald keeps its files: persistent, and volatile.
var journalDirs = []string{"/var/log/journal", "/run/log/journal"}

// CheckJournal says why the system journal cannot be read on this host:
// journald keeps no files (not running, or Storage=none), or sd-journal
// cannot open them (this build, a missing libsystemd, permissions). It
// returns nil when it can be read.
func CheckJournal() error { return checkJournal(journalDirs) }

func checkJournal(dirs []string) error {
	for _, d := range dirs {
		for _, pattern := range []string{"*.journal", "*/*.journal"} {
			if m, _ := filepath.Glob(filepath.Join(d, pattern)); len(m) > 0 {
				return openJournal()
			}
		}
	}
	return fmt.Errorf("%w: no journal files in %s", ErrNoJournal, strings.Join(dirs, " or "))
}
