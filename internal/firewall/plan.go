package firewall

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// span is one element of a set: the addresses first..last, both included.
// The kernel stores it as a start key and an interval-end key last+1 (none
// when last is the highest address).
type span struct {
	first, last netip.Addr
	// timeout is the element's full timeout; remaining is what is left of it.
	timeout, remaining time.Duration
	// inKernel: present before this Apply and not yet scheduled for deletion.
	inKernel bool
	// fresh: added or re-added by this Apply, so it must be sent.
	fresh bool
	// noEnd: the kernel holds no interval-end element for it.
	noEnd bool
}

func spanOf(p netip.Prefix) span {
	return span{first: p.Masked().Addr(), last: lastAddr(p)}
}

// expiryMargin is how close to its expiry an element is treated as possibly
// gone: the kernel may drop it before a transaction commits. Such an element
// never covers a new ban (the ban would end with it), so it is replaced.
const expiryMargin = time.Second

func (s span) expiring() bool { return s.timeout > 0 && s.remaining < expiryMargin }

func (s span) same(o span) bool { return s.first == o.first && s.last == o.last }

func (s span) contains(o span) bool {
	return s.first.Compare(o.first) <= 0 && o.last.Compare(s.last) <= 0
}

// prefix returns the span as a prefix when it is exactly one.
func (s span) prefix() (netip.Prefix, bool) {
	for bits := s.first.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(s.first, bits)
		if p.Masked().Addr() != s.first {
			return netip.Prefix{}, false
		}
		switch lastAddr(p).Compare(s.last) {
		case 0:
			return p, true
		case 1:
			return netip.Prefix{}, false
		}
	}
	return netip.Prefix{}, false
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	a, host := p.Masked().Addr(), p.Addr().BitLen()-p.Bits()
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:]) | uint32(uint64(1)<<host-1)
		binary.BigEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	if host >= 64 {
		lo = ^uint64(0)
		hi |= uint64(1)<<(host-64) - 1
	} else {
		lo |= uint64(1)<<host - 1
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// planner replays changes on a copy of one set's contents and records what
// the kernel must delete and add to end in the same state. Its spans never
// overlap, so neither do the kernel's.
type planner struct {
	spans []span // sorted by first
	del   []span
}

// newPlanner starts from a set's elements; overlapping ones, which the
// kernel cannot hold, are dropped rather than trusted.
func newPlanner(cur []span) *planner {
	spans := slices.Clone(cur)
	slices.SortFunc(spans, func(a, b span) int { return cmp.Or(a.first.Compare(b.first), a.last.Compare(b.last)) })
	kept := spans[:0]
	for _, s := range spans {
		if n := len(kept); n > 0 && kept[n-1].last.Compare(s.first) >= 0 {
			continue
		}
		s.inKernel, s.fresh = true, false
		kept = append(kept, s)
	}
	return &planner{spans: kept}
}

// find returns the index of the first span that ends at or after a.
func (p *planner) find(a netip.Addr) int {
	return sort.Search(len(p.spans), func(i int) bool { return p.spans[i].last.Compare(a) >= 0 })
}

// add bans pre; it reports false when a wider element already covers it.
func (p *planner) add(pre netip.Prefix, timeout time.Duration) bool {
	s := spanOf(pre)
	s.timeout, s.remaining, s.fresh = timeout, timeout, true
	i := p.find(s.first)
	if i < len(p.spans) && p.spans[i].contains(s) && !p.spans[i].same(s) && !p.spans[i].expiring() {
		return false
	}
	j := i
	for j < len(p.spans) && p.spans[j].first.Compare(s.last) <= 0 {
		p.drop(j)
		j++
	}
	p.spans = slices.Replace(p.spans, i, j, s)
	return true
}

// remove unbans exactly pre, if present.
func (p *planner) remove(pre netip.Prefix) {
	s := spanOf(pre)
	if i := p.find(s.first); i < len(p.spans) && p.spans[i].same(s) {
		p.drop(i)
		p.spans = slices.Delete(p.spans, i, i+1)
	}
}

func (p *planner) drop(i int) {
	if p.spans[i].inKernel {
		p.del = append(p.del, p.spans[i])
		p.spans[i].inKernel = false
	}
}

// adds returns the spans to send to the kernel.
func (p *planner) adds() []span {
	var out []span
	for _, s := range p.spans {
		if s.fresh {
			out = append(out, s)
		}
	}
	return out
}
