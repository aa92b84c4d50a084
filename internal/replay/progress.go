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
	w        io.Writer
	total    int64
	doneSize int64 // bytes of finished files
	last     time.Time
}

func newProgressBar(w io.Writer, files []logFile) *progressBar {
	if w == nil || !isTerminal(w) {
		return nil
	}
	p := &progressBar{w: w}
	for _, f := range files {
		p.total += f.size
	}
	return p
}

func (p *progressBar) update(offset int64) {
	if p == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.doneSize+offset)/float64(p.total), 0.99)
	}
	n := int(frac * 30)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%%", strings.Repeat("#", n), strings.Repeat(".", 30-n), int(frac*100))
}

// fileDone counts a finished file by its size: the next file's offsets
// start again at 0.
func (p *progressBar) fileDone(size int64) {
	if p != nil {
		p.doneSize += size
	}
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 40))
}
