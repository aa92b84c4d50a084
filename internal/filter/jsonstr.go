package filter

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// strPlain marks the bytes a string may hold without a closer look: everything
// but '"', '\\', control characters and the start of multi-byte UTF-8.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipPlain returns the index of the first byte at or after i that is not
// plain. Eight bytes at a time: strings are most of a log line's bytes.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (lsb * '"')
		e := w ^ (lsb * '\\')
		// A byte's high bit ends up set when it is '"', '\\', below 0x20, or
		// at least 0x80; the lowest such byte is exact (borrows run upwards).
		m := ((q-lsb)&^q | (e-lsb)&^e | (w-lsb*0x20)&^w | w) & msb
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// scanString reads a string whose text starts at b[i] (after the opening
// quote). It returns the index of the closing quote and whether the text
// holds escapes. Control characters, bad escapes and invalid UTF-8 fail it.
func scanString(b []byte, i int) (int, bool, bool) {
	esc := false
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			return 0, false, false
		}
		switch c := b[i]; {
		case c == '"':
			return i, esc, true
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 {
				return 0, false, false
			}
			esc = true
			i += n
		case c < 0x20:
			return 0, false, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, false
			}
			i += size
		}
	}
}

// escapeLen is the length of the valid escape sequence at the start of b, or 0.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if hex4(b[2:]) < 0 {
			return 0
		}
		return 6
	}
	return 0
}

// hex4 decodes four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// The functions below read string text that scanString has validated; they
// decode escapes exactly as encoding/json does, including its replacement of
// unpaired UTF-16 surrogates by U+FFFD.

// decodeEscape decodes the escape sequence at the start of raw and returns
// the rune and the number of bytes it took.
func decodeEscape(raw []byte) (rune, int) {
	switch raw[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(raw[2:])
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(raw) >= 12 && raw[6] == '\\' && raw[7] == 'u' {
			if d := utf16.DecodeRune(r, hex4(raw[8:])); d != utf8.RuneError {
				return d, 12
			}
		}
		return utf8.RuneError, 6
	}
	return rune(raw[1]), 2
}

// jsonUnescape appends the decoded text of raw to dst.
func jsonUnescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			dst = append(dst, raw[i])
			i++
			continue
		}
		r, n := decodeEscape(raw[i:])
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst
}

// unescapedEqual reports whether the decoded text of raw is want, without
// decoding it into a buffer.
func unescapedEqual(raw []byte, want string) bool {
	j := 0
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			if j >= len(want) || want[j] != raw[i] {
				return false
			}
			i++
			j++
			continue
		}
		r, n := decodeEscape(raw[i:])
		i += n
		var buf [utf8.UTFMax]byte
		m := utf8.EncodeRune(buf[:], r)
		if len(want)-j < m || want[j:j+m] != string(buf[:m]) {
			return false
		}
		j += m
	}
	return j == len(want)
}
