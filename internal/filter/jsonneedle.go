package filter

import (
	"bytes"
	"strings"
)

// needle is text the pre-check looks for. bytes.Index starts from the first
// byte, and a quoted key starts with '"', the commonest byte of a JSON line:
// the search would stop at every string. So it looks for the needle's rarest
// byte and compares the rest around each occurrence.
type needle struct {
	text []byte
	rare int // index in text of the byte searched for
}

func newNeedle(s string) needle {
	n := needle{text: []byte(s)}
	for i := range len(s) {
		if rarity(s[i]) > rarity(s[n.rare]) {
			n.rare = i
		}
	}
	return n
}

// rarity guesses how rare a byte is in a JSON log line: punctuation of the
// syntax and hex digits (ids, hashes) are everywhere, then letters by their
// frequency in English text.
func rarity(c byte) int {
	switch {
	case c >= '0' && c <= '9', c >= 'a' && c <= 'f', strings.IndexByte(`\":,. _-{}[]`, c) >= 0:
		return 0
	case c >= 'g' && c <= 'z':
		return 1 + strings.IndexByte("tonisrhlumgpwyvkxjqz", c)
	}
	return 30
}

// in reports whether the needle occurs in b. When the rare byte turns out to
// be common in b, it hands over to bytes.Index, whose cost does not depend
// on the text (a hostile line full of that byte stays cheap).
func (n *needle) in(b []byte) bool {
	c := n.text[n.rare]
	fails := 0
	for i := n.rare; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return false
		}
		i += j
		start := i - n.rare
		if start+len(n.text) > len(b) {
			return false
		}
		if bytes.Equal(b[start:start+len(n.text)], n.text) {
			return true
		}
		if fails++; fails > 4+i/16 {
			return bytes.Contains(b[start+1:], n.text)
		}
	}
	return false
}
