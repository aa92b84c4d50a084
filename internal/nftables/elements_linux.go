//go:build linux

package nftables

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"

	"github.com/peerjail/peerjail/internal/firewall"
)

// chunk bounds the elements of one netlink message: a message's element list
// is one attribute, whose length field has 16 bits, and the library does not
// check it. 512 elements stay under 32 KiB even for IPv6.
const chunk = 512

// queue adds elements to the batch in messages of at most chunk elements;
// an interval's start and end stay in the same message.
func queue(op func(*nftables.Set, []nftables.SetElement) error, s *nftables.Set, els []nftables.SetElement) error {
	for len(els) > 0 {
		k := min(chunk, len(els))
		if k < len(els) && els[k].IntervalEnd {
			k++
		}
		if err := op(s, els[:k]); err != nil {
			return fmt.Errorf("nftables: set %s: %w", s.Name, err)
		}
		els = els[k:]
	}
	return nil
}

// addElements encodes a network set's spans as interval elements: the start carries the
// timeout, the end (last+1, omitted past the highest address) carries none,
// since the kernel refuses a timeout on it.
func addElements(spans []firewall.Span) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(spans))
	for _, s := range spans {
		out = append(out, nftables.SetElement{Key: s.First.AsSlice(), Timeout: s.Timeout})
		if end := s.Last.Next(); end.IsValid() {
			out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// deleteElements names existing spans by the keys the kernel holds.
func deleteElements(spans []firewall.Span) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(spans))
	for _, s := range spans {
		out = append(out, nftables.SetElement{Key: s.First.AsSlice()})
		if end := s.Last.Next(); end.IsValid() && !s.NoEnd {
			out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

func readSpans(c *nftables.Conn, s *nftables.Set, v4 bool) ([]firewall.Span, error) {
	// An interval set is a tree walked in key order, which no resize
	// reorders: one listing is whole (unlike a host set's, hostElements).
	els, err := c.GetSetElements(s)
	if err != nil {
		return nil, fmt.Errorf("nftables: read set %s: %w", s.Name, err)
	}
	return spansOf(els, v4), nil
}

// key is one element as the kernel lists it.
type key struct {
	addr             netip.Addr
	end              bool
	timeout, expires time.Duration
}

// spansOf pairs the start and end elements the kernel lists (in no promised
// order) into spans. An end without a start is what remains of an expired
// element until the kernel collects it, and is ignored; a start without an
// end reaches up to the next start, as the kernel's lookup treats it.
func spansOf(els []nftables.SetElement, v4 bool) []firewall.Span {
	keys := make([]key, 0, len(els))
	for _, e := range els {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok || a.Is4() != v4 {
			continue
		}
		keys = append(keys, key{addr: a, end: e.IntervalEnd, timeout: e.Timeout, expires: e.Expires})
	}
	// At one address an end sorts first: it closes the previous firewall.Span.
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(a.addr.Compare(b.addr), -cmp.Compare(btoi(a.end), btoi(b.end)))
	})
	var out []firewall.Span
	var open *key
	closeAt := func(next netip.Addr, noEnd bool) {
		out = append(out, firewall.Span{First: open.addr, Last: next.Prev(), Timeout: open.timeout, Remaining: open.expires, NoEnd: noEnd})
		open = nil
	}
	for i := range keys {
		k := &keys[i]
		switch {
		case k.end && open != nil:
			closeAt(k.addr, false)
		case k.end:
		default:
			if open != nil && open.addr != k.addr {
				closeAt(k.addr, true)
			}
			open = k
		}
	}
	if open != nil {
		out = append(out, firewall.Span{First: open.addr, Last: maxAddr(v4), Timeout: open.timeout, Remaining: open.expires, NoEnd: true})
	}
	return out
}

func maxAddr(v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return netip.AddrFrom16([16]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
