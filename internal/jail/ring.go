package jail

import (
	"encoding/binary"
	"unicode/utf8"
)

// Evidence limits: a ban carries at most maxEvidence lines of at most
// maxLineBytes bytes each, so a hostile log line cannot bloat memory or the
// state store.
const (
	maxEvidence  = 10
	maxLineBytes = 1024
	cutMark      = "…"
)

// lineRing keeps the jail's recent evidence lines in a fixed budget of bytes,
// whatever the number of hosts: with maxretry 5 every hit's line may be
// evidence, and a copy per pending hit of a million spoofed hosts would cost
// more than the hosts themselves. Each record links to the previous line of
// the same host, so a host holds one position, not its lines.
//
// Under a flood that writes more than the ring holds within a host's findtime,
// that host's older lines are overwritten and its ban carries fewer lines (at
// least the decisive one). A position is never mistaken for another record:
// positions count bytes since the start and are checked against what was
// overwritten.
//
// Chunks whose lines all belong to hits that left findtime are given back at
// Prune, so a quiet jail holds about a findtime of lines, not the whole ring.
type lineRing struct {
	chunks [][]byte // ring of chunks, allocated as first needed
	newest []int64  // per chunk, the latest hit time of its lines
	pos    uint64   // where the next record goes
	floor  uint64   // chunks numbered below it are given back
}

const (
	ringChunk   = 16 << 10
	ringHeader  = 10 // previous position (8 bytes), length (2)
	minRingSize = 8 * ringChunk
	maxRingSize = 32 << 20
)

// newLineRing sizes the ring by the hosts a jail may track: 32 bytes each,
// within 128 KiB–32 MiB.
func newLineRing(maxHosts int) lineRing {
	size := min(max(maxHosts*32, minRingSize), maxRingSize)
	n := size / ringChunk
	return lineRing{chunks: make([][]byte, n), newest: make([]int64, n)}
}

// add stores line (cut to maxLineBytes) of a hit at t after prev, the host's
// previous record (0 for none), and returns the new record's position plus
// one.
func (r *lineRing) add(prev uint64, line []byte, t int64) uint64 {
	line, cut := cutLine(line)
	need := uint64(ringHeader + len(line) + len(cut))
	if off := r.pos % ringChunk; off+need > ringChunk {
		r.pos += ringChunk - off // records never span chunks
	}
	c := r.chunk(r.pos)
	off := r.pos % ringChunk
	idx := (r.pos / ringChunk) % uint64(len(r.chunks))
	if off == 0 || t > r.newest[idx] {
		r.newest[idx] = t
	}
	rec := c[off : off+need]
	binary.LittleEndian.PutUint64(rec, prev)
	binary.LittleEndian.PutUint16(rec[8:], uint16(len(line)+len(cut)))
	copy(rec[ringHeader+copy(rec[ringHeader:], line):], cut)
	at := r.pos
	r.pos += need
	return at + 1
}

func (r *lineRing) chunk(pos uint64) []byte {
	i := (pos / ringChunk) % uint64(len(r.chunks))
	if r.chunks[i] == nil {
		r.chunks[i] = make([]byte, ringChunk)
	}
	return r.chunks[i]
}

// valid reports whether the record at ref (a position plus one) is still held:
// the chunk it was written in has not been reused since.
func (r *lineRing) valid(ref uint64) bool {
	if ref == 0 {
		return false
	}
	at, cur := (ref-1)/ringChunk, r.pos/ringChunk
	return at >= r.floor && at+uint64(len(r.chunks)) > cur
}

// release gives back the oldest chunks whose lines are all of hits at or
// before lo, never the one being written.
func (r *lineRing) release(lo int64) {
	n := uint64(len(r.chunks))
	cur := r.pos / ringChunk
	seq := r.floor
	if cur >= n && seq < cur-n+1 {
		seq = cur - n + 1
	}
	for ; seq < cur; seq++ {
		idx := seq % n
		if r.chunks[idx] != nil && r.newest[idx] > lo {
			break
		}
		r.chunks[idx] = nil
		r.floor = seq + 1
	}
}

// lines returns up to n lines ending with the record at ref, oldest first.
func (r *lineRing) lines(ref uint64, n int) []string {
	var out []string
	for len(out) < n && r.valid(ref) {
		c := r.chunk(ref - 1)
		off := (ref - 1) % ringChunk
		l := uint64(binary.LittleEndian.Uint16(c[off+8:]))
		out = append(out, string(c[off+ringHeader:off+ringHeader+l]))
		ref = binary.LittleEndian.Uint64(c[off:])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// cutLine cuts lines over maxLineBytes on a character boundary and returns the
// mark to append.
func cutLine(line []byte) ([]byte, string) {
	if len(line) <= maxLineBytes {
		return line, ""
	}
	cut := maxLineBytes - len(cutMark)
	for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(line[cut]); back++ {
		cut--
	}
	return line[:cut], cutMark
}
