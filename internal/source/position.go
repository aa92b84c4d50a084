package source

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrBadPosition is returned for a saved file position that cannot be parsed.
var ErrBadPosition = errors.New("not a file position dev:ino:offset[:sum]")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileID tells files apart across renames: a rotated file keeps its
// identity under its new name, a re-created one gets a new identity.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
}

// prefix is the part of a position shared by all lines of one file.
func (id fileID) prefix() string {
	return strconv.FormatUint(id.dev, 10) + ":" + strconv.FormatUint(id.ino, 10) + ":"
}

// filePos is where reading a file resumes: the identity of the file, the
// offset after the last line delivered, and a checksum of the fpLen bytes
// before that offset. The checksum tells a file truncated in place and
// rewritten past the offset (copytruncate while the daemon was down) from
// the file that was read.
type filePos struct {
	id     fileID
	off    int64
	sum    uint32
	hasSum bool // positions "dev:ino:offset" without a checksum are accepted too
}

func (p filePos) String() string {
	b := appendPos(nil, p.id.prefix(), p.off, p.sum)
	if !p.hasSum {
		b = b[:strings.LastIndexByte(string(b), ':')]
	}
	return string(b)
}

// appendPos appends "dev:ino:offset:sum", prefix being "dev:ino:".
func appendPos(b []byte, prefix string, off int64, sum uint32) []byte {
	b = append(b, prefix...)
	b = strconv.AppendInt(b, off, 10)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(sum), 16)
}

// parseFilePos parses "dev:ino:offset" (decimal) with an optional ":sum" (hex).
func parseFilePos(s string) (filePos, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 && len(f) != 4 {
		return filePos{}, fmt.Errorf("%q: %w", s, ErrBadPosition)
	}
	var p filePos
	var errs [4]error
	p.id.dev, errs[0] = strconv.ParseUint(f[0], 10, 64)
	p.id.ino, errs[1] = strconv.ParseUint(f[1], 10, 64)
	p.off, errs[2] = strconv.ParseInt(f[2], 10, 64)
	if len(f) == 4 {
		var sum uint64
		sum, errs[3] = strconv.ParseUint(f[3], 16, 32)
		p.sum, p.hasSum = uint32(sum), true
	}
	if err := errors.Join(errs[:]...); err != nil || p.off < 0 {
		return filePos{}, fmt.Errorf("%q: %w", s, ErrBadPosition)
	}
	return p, nil
}

// in reports whether p, taken in a file of the same identity, still points
// into f, of size bytes: the bytes before the offset are those summed.
func (p filePos) in(f *os.File, size int64) bool {
	if p.off > size {
		return false
	}
	before, ok := readBefore(f, p.off, nil)
	if !ok {
		return false
	}
	if !p.hasSum {
		return len(before) == 0 || before[len(before)-1] == '\n'
	}
	return crc32.Checksum(before, castagnoli) == p.sum
}

// readBefore appends to dst the up to fpLen bytes before off.
func readBefore(f *os.File, off int64, dst []byte) ([]byte, bool) {
	var tmp [fpLen]byte
	k := int(min(off, fpLen))
	n, _ := f.ReadAt(tmp[:k], off-int64(k))
	return append(dst, tmp[:n]...), n == k
}

// sumBefore sums the fpLen bytes before own[e], prev being the bytes
// before own.
func sumBefore(prev, own []byte, e int) uint32 {
	if e >= fpLen {
		return crc32.Checksum(own[e-fpLen:e], castagnoli)
	}
	need := min(fpLen-e, len(prev))
	h := crc32.Update(0, castagnoli, prev[len(prev)-need:])
	return crc32.Update(h, castagnoli, own[:e])
}

// keepTail appends b to dst and keeps the last fpLen bytes.
func keepTail(dst, b []byte) []byte {
	if len(b) >= fpLen {
		return append(dst[:0], b[len(b)-fpLen:]...)
	}
	keep := min(fpLen-len(b), len(dst))
	dst = append(dst[:0], dst[len(dst)-keep:]...)
	return append(dst, b...)
}

// genSep separates the generations in a path's position: the file at the
// path first, then the older files of the path, renamed away and not read
// to their end yet, then files the path named since and not read yet.
const genSep = '+'

// parsePathPos parses a path's position: one filePos, or several joined
// by genSep.
func parsePathPos(s string) ([]filePos, error) {
	var ps []filePos
	for part := range strings.SplitSeq(s, string(genSep)) {
		p, err := parseFilePos(part)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
