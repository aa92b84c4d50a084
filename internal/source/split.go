package source

import (
	"bytes"
	"context"
	"hash/crc32"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// makeRoom grows the buffer for a long line, up to max; a line that fills
// max bytes without ending is oversized and dropped from then on.
func (fl *follower) makeRoom() {
	if fl.buf == nil {
		fl.buf = make([]byte, min(readSize, fl.max))
	}
	if fl.n < len(fl.buf) {
		if len(fl.buf) > readSize && fl.n <= readSize/2 {
			fl.buf = append(make([]byte, 0, readSize), fl.buf[:fl.n]...)[:readSize]
		}
		return
	}
	if len(fl.buf) >= fl.max {
		fl.skip, fl.n = skipOversized, 0
		return
	}
	fl.buf = append(fl.buf, make([]byte, min(len(fl.buf), fl.max-len(fl.buf)))...)
}

// consume delivers the complete lines of data, which begins at file offset
// base, and returns how many bytes it used; false when ctx ended.
func (fl *follower) consume(ctx context.Context, out chan<- logline.Line, data []byte, base int64) (int, bool) {
	done := 0
	if fl.skip != skipNone {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return len(data), true
		}
		done = i + 1
		sk := fl.skip
		fl.skip = skipNone
		if sk == skipOversized && !fl.sendOversized(ctx, out, base+int64(done)) {
			return 0, false
		}
		if sk == skipResync {
			fl.off = base + int64(done)
			fl.before, _ = readBefore(fl.f, fl.off, fl.before[:0])
		}
	}
	last := bytes.LastIndexByte(data[done:], '\n')
	if last < 0 {
		return done, true
	}
	end := done + last + 1
	return end, fl.sendLines(ctx, out, data[done:end], base+int64(done))
}

// sendOversized reports the line that ended at file offset end.
func (fl *follower) sendOversized(ctx context.Context, out chan<- logline.Line, end int64) bool {
	num := fl.number()
	fl.log.Warn("line longer than the limit, skipped", "path", fl.path, "line", num, "limit", fl.max)
	fl.off = end
	fl.before, _ = readBefore(fl.f, end, fl.before[:0])
	return fl.send(ctx, out, logline.Line{Time: fl.now, Source: fl.path, Number: num, Position: fl.positionAt(end), Oversized: true})
}

// number counts a line of the path and returns its number.
func (fl *follower) number() int64 {
	if fl.primary != nil {
		return fl.primary.number()
	}
	fl.num++
	return fl.num
}

// positionAt is the position a line ending at end, fl.before being the
// bytes before end, carries.
func (fl *follower) positionAt(end int64) string {
	return string(fl.appendPathPos(nil, end, crc32.Checksum(fl.before, castagnoli)))
}

// appendPathPos appends the position of a line of fl ending at end, sum
// being the checksum of the bytes before end. A position is saved per path
// and names every file of the path not read to its end: the one at the
// path first, then those renamed away that are still read, then those
// opened ahead. A restart resumes each (finding a renamed one by its
// identity in the path's directory), so that a follower stopped while it
// lags behind a rotation loses none of the renamed file's lines.
func (fl *follower) appendPathPos(b []byte, end int64, sum uint32) []byte {
	top := fl
	if fl.primary != nil {
		top = fl.primary
	}
	if top.renamed == nil && top.upcoming == nil {
		return appendPos(b, fl.prefix, end, sum)
	}
	b = top.appendGen(b, fl, end, sum)
	for _, r := range top.renamed {
		b = append(b, genSep)
		b = r.appendGen(b, fl, end, sum)
	}
	for _, u := range top.upcoming {
		b = append(b, genSep)
		b = append(b, u.position().String()...)
	}
	return b
}

// appendGen appends where fl's file is read to: at end for the line
// being delivered, by self; else after its last line delivered.
func (fl *follower) appendGen(b []byte, self *follower, end int64, sum uint32) []byte {
	if fl == self {
		return appendPos(b, fl.prefix, end, sum)
	}
	return appendPos(b, fl.prefix, fl.off, crc32.Checksum(fl.before, castagnoli))
}

// sendLines delivers chunk, complete lines starting at file offset base. The
// lines share one copy of chunk and one string of positions, so that a line
// costs no allocation of its own.
func (fl *follower) sendLines(ctx context.Context, out chan<- logline.Line, chunk []byte, base int64) bool {
	own := bytes.Clone(chunk)
	fl.pbuf, fl.ends = fl.pbuf[:0], fl.ends[:0]
	for s := 0; s < len(own); {
		e := s + bytes.IndexByte(own[s:], '\n') + 1
		fl.pbuf = fl.appendPathPos(fl.pbuf, base+int64(e), sumBefore(fl.before, own, e))
		fl.ends = append(fl.ends, e, len(fl.pbuf))
		s = e
	}
	fl.before = keepTail(fl.before, own)
	positions := string(fl.pbuf)
	s, ps := 0, 0
	for k := 0; k < len(fl.ends); k += 2 {
		e, pe := fl.ends[k], fl.ends[k+1]
		if k%1024 == 0 {
			fl.lookAhead()
		}
		l := logline.Line{Text: trimEOL(own[s:e:e]), Time: fl.now, Source: fl.path,
			Number: fl.number(), Position: positions[ps:pe]}
		if !fl.send(ctx, out, l) {
			return false
		}
		fl.off = base + int64(e)
		s, ps = e, pe
	}
	return true
}

// flush delivers a last line that has no newline, when the file is left
// for good.
func (fl *follower) flush(ctx context.Context, out chan<- logline.Line) bool {
	switch {
	case fl.skip == skipOversized:
		fl.skip = skipNone
		return fl.sendOversized(ctx, out, fl.pos)
	case fl.skip == skipNone && fl.n > 0:
		text := bytes.TrimSuffix(bytes.Clone(fl.buf[:fl.n]), []byte{'\r'})
		fl.before = keepTail(fl.before, fl.buf[:fl.n])
		fl.n, fl.off = 0, fl.pos
		return fl.send(ctx, out, logline.Line{Text: text, Time: time.Now(), Source: fl.path,
			Number: fl.number(), Position: fl.positionAt(fl.pos)})
	}
	return true
}
