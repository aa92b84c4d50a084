//go:build !linux || !cgo

package source

import (
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// JournalRange is unavailable in this build.
type JournalRange struct{}

// JournalRangeOptions says which entries a JournalRange reads.
type JournalRangeOptions struct {
	Matches      []string
	Dir          string
	Files        []string
	Since, Until time.Time
	Fields       bool
}

// OpenJournalRange returns ErrJournalUnsupported in this build.
func OpenJournalRange(o JournalRangeOptions) (*JournalRange, error) {
	if err := checkMatches(o.Matches); err != nil {
		return nil, err
	}
	return nil, ErrJournalUnsupported
}

// Next returns ErrJournalUnsupported.
func (r *JournalRange) Next() (logline.Line, error) { return logline.Line{}, ErrJournalUnsupported }

// Close does nothing.
func (r *JournalRange) Close() error { return nil }
