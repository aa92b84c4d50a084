package nftables

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
)

// dumpTries bounds the listings of one set hostElements makes.
const dumpTries = 4

// hostElements lists the host (hash) set s until two listings in a row hold the same elements.
//
// The kernel dumps a large set over several netlink messages and resumes
// each one by skipping the elements it already sent, in the order of the
// set's hash table. When that table is resized between two messages (the
// kernel grows it in the background after a burst of additions), the
// order changes and the dump silently misses some elements and repeats
// others: no error, no NLM_F_DUMP_INTR, since the set's contents did not
// change. Seen here: a set of 6,000 elements listed with 5,419 under load.
// A listing that agrees with the one before it was not cut by a resize;
// if none agrees within dumpTries, the union of the listings is returned,
// since an element any of them saw was in the set while it was read.
func hostElements(c *nftables.Conn, s *nftables.Set) ([]nftables.SetElement, error) {
	var prev []nftables.SetElement
	union := map[elementKey]nftables.SetElement{}
	for range dumpTries {
		els, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("nftables: read set %s: %w", s.Name, err)
		}
		for _, e := range els {
			union[keyOf(e)] = e
		}
		if prev != nil && sameKeys(prev, els) {
			return els, nil
		}
		prev = els
	}
	out := make([]nftables.SetElement, 0, len(union))
	for _, e := range union {
		out = append(out, e)
	}
	return out, nil
}

// elementKey is what makes an element itself: its key, and whether it ends
// an interval. Timeouts go down between two listings of the same element.
type elementKey struct {
	key string
	end bool
}

func keyOf(e nftables.SetElement) elementKey { return elementKey{string(e.Key), e.IntervalEnd} }

func sameKeys(a, b []nftables.SetElement) bool {
	if len(a) != len(b) {
		return false
	}
	ka, kb := keysOf(a), keysOf(b)
	return slices.Equal(ka, kb)
}

func keysOf(els []nftables.SetElement) []elementKey {
	out := make([]elementKey, len(els))
	for i, e := range els {
		out[i] = keyOf(e)
	}
	slices.SortFunc(out, func(x, y elementKey) int {
		return cmp.Or(strings.Compare(x.key, y.key), cmp.Compare(b2i(x.end), b2i(y.end)))
	})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
