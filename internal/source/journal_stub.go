//go:build !linux || !cgo

package source

import (
	"context"

	"github.com/peerjail/peerjail/internal/logline"
)

// Journal is unavailable in this build.
type Journal struct{ matches []string }

// NewJournal returns ErrJournalUnsupported in this build.
func NewJournal(matches []string, _ Positions, _ JournalOptions) (*Journal, error) {
	if err := checkMatches(matches); err != nil {
		return nil, err
	}
	return nil, ErrJournalUnsupported
}

// Name returns "journal:" and the matches joined by "+".
func (j *Journal) Name() string { return journalName(j.matches) }

// Run returns ErrJournalUnsupported.
func (j *Journal) Run(context.Context, chan<- logline.Line) error { return ErrJournalUnsupported }

// Watching returns the matches.
func (j *Journal) Watching() []string { return append([]string(nil), j.matches...) }

func openJournal() error { return ErrJournalUnsupported }
