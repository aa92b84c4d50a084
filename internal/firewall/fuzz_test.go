package firewall

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// FuzzPlan replays random bans and unbans over a small address range, where
// overlaps are frequent, and checks that the Planner agrees with the obvious
// model and that its deletions and additions take the kernel from the old
// contents to the new without ever holding overlapping elements.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{2, 1, 32, 0, 24, 1, 5, 30, 0, 1, 32, 1, 0, 24})
	f.Add([]byte{0, 1, 0, 32, 1, 1, 32, 1, 2, 31, 0, 0, 32})
	f.Add([]byte{3, 0, 25, 128, 25, 7, 32, 1, 0, 24, 0, 0, 24, 1, 4, 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		existing, changes := decodePlanInput(data)
		p := NewPlanner(existing)
		initial := slices.Clone(p.Spans)
		ref := slices.Clone(p.Spans)
		for _, c := range changes {
			if c.Add {
				p.Add(c.Prefix, c.Timeout)
			} else {
				p.Remove(c.Prefix)
			}
			ref = refApply(ref, c)
		}
		if got, want := state(p.Spans), state(ref); got != want {
			t.Fatalf("Planner %q, model %q", got, want)
		}
		kernel := slices.Clone(initial)
		for _, d := range p.Del {
			i := slices.IndexFunc(kernel, func(o Span) bool { return o.Same(d) })
			if i < 0 {
				t.Fatalf("deletes %v, which the kernel does not hold (or twice)", d)
			}
			kernel = slices.Delete(kernel, i, i+1)
		}
		for _, a := range p.Adds() {
			for _, o := range kernel {
				if o.First.Compare(a.Last) <= 0 && a.First.Compare(o.Last) <= 0 {
					t.Fatalf("adds %v over %v: the kernel rejects the transaction", a, o)
				}
			}
			kernel = append(kernel, a)
		}
		slices.SortFunc(kernel, func(a, b Span) int { return a.First.Compare(b.First) })
		if got, want := state(kernel), state(p.Spans); got != want {
			t.Fatalf("kernel ends with %q, Planner says %q", got, want)
		}
	})
}

// decodePlanInput reads: a count of existing elements, two bytes each
// (last octet, prefix length; from 128 on about to expire), then changes of three bytes each (op, last
// octet, prefix length), all within 10.0.0.0/24.
func decodePlanInput(data []byte) ([]Span, []Change) {
	prefix := func(octet, bits byte) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, octet}), 24+int(bits%9)).Masked()
	}
	if len(data) == 0 {
		return nil, nil
	}
	n := int(data[0] % 8)
	data = data[1:]
	var existing []Span
	for ; n > 0 && len(data) >= 2; n-- {
		s := SpanOf(prefix(data[0], data[1]))
		s.Timeout, s.Remaining = time.Hour, time.Minute
		if data[1] >= 128 {
			s.Remaining = 500 * time.Millisecond // about to expire
		}
		existing = append(existing, s)
		data = data[2:]
	}
	var changes []Change
	for i := 0; len(data) >= 3; i++ {
		c := Change{Jail: "j", Prefix: prefix(data[1], data[2]), Add: data[0]%2 == 1, Timeout: time.Duration(i+1) * time.Second}
		if !c.Add {
			c.Timeout = 0
		}
		changes = append(changes, c)
		data = data[3:]
	}
	return existing, changes
}

// FuzzNormalize checks that any change is either refused or turned into one
// the kernel takes: a masked prefix that is not /0 and, for a ban, a whole
// number of milliseconds no shorter than asked.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, 32, true, int64(time.Minute))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4}, 120, true, int64(1500))
	f.Add([]byte{32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 64, false, int64(0))
	f.Add([]byte{10, 0, 0, 1}, 0, true, int64(-1))
	f.Fuzz(func(t *testing.T, addr []byte, bits int, add bool, timeout int64) {
		a, _ := netip.AddrFromSlice(addr)
		in := Change{Jail: "j", Prefix: netip.PrefixFrom(a, bits), Add: add, Timeout: time.Duration(timeout)}
		c, err := normalize(in)
		if err != nil {
			return
		}
		if !c.Prefix.IsValid() || c.Prefix.Bits() == 0 || c.Prefix != c.Prefix.Masked() || c.Prefix.Addr().Is4In6() {
			t.Fatalf("normalize(%v) gave prefix %v", in, c.Prefix)
		}
		if add && (c.Timeout <= 0 || c.Timeout%time.Millisecond != 0 || c.Timeout < in.Timeout-time.Millisecond) {
			t.Fatalf("normalize(%v) gave timeout %v", in, c.Timeout)
		}
	})
}
