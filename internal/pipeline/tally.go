package pipeline

import (
	"net/netip"
	"strings"

	"github.com/peerjail/peerjail/internal/jail"
)

// hostTally counts one jail's hits per host (Options.TrackHosts). A map
// keyed by jail.Key, a string inside a struct, hashes and compares several
// times slower than one keyed by plain bytes, and with many jails on one
// source that map write per jail and hit was the largest single cost of
// counting: addresses and identities get maps of their own.
type hostTally struct {
	addrs  map[tallyAddr]int
	ids    map[string]int32 // index in idHits
	idHits []int
}

// tallyAddr is an address key as plain bytes: the address in its 16-byte
// form, its prefix length and whether it is IPv4 (a netip.Prefix has no
// zone).
type tallyAddr struct {
	addr [16]byte
	bits uint8
	v4   bool
}

func newHostTally() *hostTally {
	return &hostTally{addrs: make(map[tallyAddr]int), ids: make(map[string]int32)}
}

// add counts one hit on k. k's ID may share a line's memory: the tally
// keeps its own copy.
func (t *hostTally) add(k jail.Key) {
	if k.ID != "" {
		// Assigning to ids would replace its key with k.ID: a hit on a
		// known identity only reads the map.
		if i, ok := t.ids[k.ID]; ok {
			t.idHits[i]++
		} else {
			t.ids[strings.Clone(k.ID)] = int32(len(t.idHits))
			t.idHits = append(t.idHits, 1)
		}
		return
	}
	a := k.Prefix.Addr()
	t.addrs[tallyAddr{addr: a.As16(), bits: uint8(k.Prefix.Bits()), v4: a.Is4()}]++
}

func (t *hostTally) hits() map[jail.Key]int {
	m := make(map[jail.Key]int, len(t.addrs)+len(t.ids))
	for ka, n := range t.addrs {
		a := netip.AddrFrom16(ka.addr)
		if ka.v4 {
			a = a.Unmap()
		}
		bits := int(ka.bits)
		if ka.bits == 0xff { // an invalid prefix's -1
			bits = -1
		}
		m[jail.Key{Prefix: netip.PrefixFrom(a, bits)}] = n
	}
	for id, i := range t.ids {
		m[jail.Key{ID: id}] = t.idHits[i]
	}
	return m
}

// HostHits returns the jail's hits per host: Hosts when the caller set it,
// else what Options.TrackHosts counted (nil without it). Read it after Run
// returns, or from inside Do.
func (jl *Lane) HostHits() map[jail.Key]int {
	if jl.Hosts != nil || jl.tally == nil {
		return jl.Hosts
	}
	return jl.tally.hits()
}

// HostCount is how many hosts len(HostHits()) holds, without building it.
func (jl *Lane) HostCount() int {
	if jl.Hosts != nil || jl.tally == nil {
		return len(jl.Hosts)
	}
	return len(jl.tally.addrs) + len(jl.tally.ids)
}
