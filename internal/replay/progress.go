package replay

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar draws "[#####.....]  52%  1.2M lines" on a terminal, at most
// five times a second. It tracks bytes of the (decompressed) stream against
// the files' sizes on disk, which for gzip is only an estimate: it is capped
// at 99% until the end.
type progressBar struct {
	w     io.Writer
	total int64
	last  time.Time
}

// newProgressBar returns nil (no bar) unless w is a terminal. total is the
// inputs' size on disk; a journal counts for nothing.
func newProgressBar(w io.Writer, total int64) *progressBar {
	if w == nil || total == 0 || !isTerminal(w) {
		return nil // a journal alone has no size to measure progress by
	}
	return &progressBar{w: w, total: total}
}

// update draws the bar for read bytes of the inputs, finished ones counted
// by their size on disk.
func (p *progressBar) update(read int64) {
	if p == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(read)/float64(p.total), 0.99)
	}
	n := int(frac * 30)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%%", strings.Repeat("#", n), strings.Repeat(".", 30-n), int(frac*100))
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 40))
}
