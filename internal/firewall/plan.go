package firewall

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Span is one element of an interval set: the addresses First..Last, both
// included. The nftables backend stores it as a start key and an
// interval-end key Last+1 (none when Last is the highest address).
type Span struct {
	First, Last netip.Addr
	// Timeout is the element's full timeout; Remaining is what is left of it.
	Timeout, Remaining time.Duration
	// InKernel: present before this Apply and not yet scheduled for deletion.
	InKernel bool
	// Fresh: added or re-added by this Apply, so it must be sent.
	Fresh bool
	// NoEnd: the kernel holds no interval-end element for it.
	NoEnd bool
}

// SpanOf returns the addresses of p as a span.
func SpanOf(p netip.Prefix) Span {
	return Span{First: p.Masked().Addr(), Last: LastAddr(p)}
}

// ExpiryMargin is how close to its expiry an element is treated as possibly
// gone: the kernel may drop it before a transaction commits. Such an element
// never covers a new ban (the ban would end with it), so it is replaced.
const ExpiryMargin = time.Second

// Expiring reports whether the element may be gone before a transaction commits.
func (s Span) Expiring() bool { return s.Timeout > 0 && s.Remaining < ExpiryMargin }

// Same reports whether both spans hold the same addresses.
func (s Span) Same(o Span) bool { return s.First == o.First && s.Last == o.Last }

// Contains reports whether s holds every address of o.
func (s Span) Contains(o Span) bool {
	return s.First.Compare(o.First) <= 0 && o.Last.Compare(s.Last) <= 0
}

// Prefix returns the Span as a prefix when it is exactly one.
func (s Span) Prefix() (netip.Prefix, bool) {
	for bits := s.First.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(s.First, bits)
		if p.Masked().Addr() != s.First {
			return netip.Prefix{}, false
		}
		switch LastAddr(p).Compare(s.Last) {
		case 0:
			return p, true
		case 1:
			return netip.Prefix{}, false
		}
	}
	return netip.Prefix{}, false
}

// LastAddr is the highest address in p.
func LastAddr(p netip.Prefix) netip.Addr {
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

// Planner replays changes on a copy of one set's contents and records what
// the kernel must delete and add to end in the same state. Its spans never
// overlap, so neither do the kernel's.
type Planner struct {
	Spans []Span // sorted by First
	Del   []Span // elements the kernel must delete
}

// NewPlanner starts from a set's elements; overlapping ones, which the
// kernel cannot hold, are dropped rather than trusted.
func NewPlanner(cur []Span) *Planner {
	spans := slices.Clone(cur)
	slices.SortFunc(spans, func(a, b Span) int { return cmp.Or(a.First.Compare(b.First), a.Last.Compare(b.Last)) })
	kept := spans[:0]
	for _, s := range spans {
		if n := len(kept); n > 0 && kept[n-1].Last.Compare(s.First) >= 0 {
			continue
		}
		s.InKernel, s.Fresh = true, false
		kept = append(kept, s)
	}
	return &Planner{Spans: kept}
}

// find returns the index of the first Span that ends at or after a.
func (p *Planner) find(a netip.Addr) int {
	return sort.Search(len(p.Spans), func(i int) bool { return p.Spans[i].Last.Compare(a) >= 0 })
}

// Add bans pre; it reports false when a wider element already covers it.
func (p *Planner) Add(pre netip.Prefix, timeout time.Duration) bool {
	s := SpanOf(pre)
	s.Timeout, s.Remaining, s.Fresh = timeout, timeout, true
	i := p.find(s.First)
	if i < len(p.Spans) && p.Spans[i].Contains(s) && !p.Spans[i].Same(s) && !p.Spans[i].Expiring() {
		return false
	}
	j := i
	for j < len(p.Spans) && p.Spans[j].First.Compare(s.Last) <= 0 {
		p.drop(j)
		j++
	}
	p.Spans = slices.Replace(p.Spans, i, j, s)
	return true
}

// Remove unbans exactly pre, if present.
func (p *Planner) Remove(pre netip.Prefix) {
	s := SpanOf(pre)
	if i := p.find(s.First); i < len(p.Spans) && p.Spans[i].Same(s) {
		p.drop(i)
		p.Spans = slices.Delete(p.Spans, i, i+1)
	}
}

func (p *Planner) drop(i int) {
	if p.Spans[i].InKernel {
		p.Del = append(p.Del, p.Spans[i])
		p.Spans[i].InKernel = false
	}
}

// Adds returns the spans to send to the kernel.
func (p *Planner) Adds() []Span {
	var out []Span
	for _, s := range p.Spans {
		if s.Fresh {
			out = append(out, s)
		}
	}
	return out
}
