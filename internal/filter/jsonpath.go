package filter

import (
	"fmt"
	"strings"
)

// journalPrefix starts a path that names a journald field instead of a key of
// the JSON object.
const journalPrefix = "journal."

// jsonField is where a condition, the host or the time is read from: a journald
// field (journal != "") or a slot filled by the scanner.
type jsonField struct {
	journal string
	node    *pathNode
}

// parsePath splits "a.b.c" or "journal.NAME" into a field, adding JSON paths
// to the tree below root.
func parsePath(root *pathNode, path string) (jsonField, error) {
	if name, ok := strings.CutPrefix(path, journalPrefix); ok {
		if name == "" {
			return jsonField{}, fmt.Errorf("%q: %w", path, errBadPath)
		}
		return jsonField{journal: name}, nil
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return jsonField{}, fmt.Errorf("%q: %w", path, errBadPath)
		}
	}
	n := root.insert(segs)
	n.leaf = true
	return jsonField{node: n}, nil
}

// pathNode is one key of the tree of paths a filter reads. The slots of a node's
// subtree are the contiguous range [lo, hi), so a repeated key can reset
// everything found under its earlier occurrence (the last occurrence wins,
// as with encoding/json).
type pathNode struct {
	key    string
	leaf   bool
	slot   int
	lo, hi int
	kids   []*pathNode
}

// insert adds the path segs below n and returns the node where it ends.
func (n *pathNode) insert(segs []string) *pathNode {
	if len(segs) == 0 {
		return n
	}
	for _, k := range n.kids {
		if k.key == segs[0] {
			return k.insert(segs[1:])
		}
	}
	k := &pathNode{key: segs[0], slot: -1}
	n.kids = append(n.kids, k)
	return k.insert(segs[1:])
}

// number assigns slots in depth-first order starting at next and returns the
// next free slot.
func (n *pathNode) number(next int) int {
	n.lo = next
	if n.leaf {
		n.slot = next
		next++
	}
	for _, k := range n.kids {
		next = k.number(next)
	}
	n.hi = next
	return next
}

// child returns the kid of n whose key is the (raw, possibly escaped) key.
func (n *pathNode) child(key []byte, esc bool) *pathNode {
	for _, k := range n.kids {
		if esc {
			if unescapedEqual(key, k.key) {
				return k
			}
		} else if string(key) == k.key {
			return k
		}
	}
	return nil
}
