package pipeline

import (
	"strings"

	"github.com/peerjail/peerjail/internal/jail"
)

// hostTally counts hits per host for every jail of an engine
// (Options.TrackHosts). A map per jail cost one map write per jail and hit,
// the largest single cost of many jails on one source; here a host is looked
// up once in a table the jails share, and each jail adds to a slice at the
// host's index. The jails that count one line's hit mostly count it against
// the same key (jails sharing a filter, or filters matching the same line),
// so the last key looked up is remembered and costs no lookup at all.
//
// Addresses and identities are looked up in maps of their own: a map keyed
// by a Key, a string inside a struct, hashes and compares far slower.
type hostTally struct {
	addrs map[tallyAddr]int32
	ids   map[string]int32
	keys  []jail.Key // by index; their IDs are the tally's own copies
	last  int32      // index of the last key looked up, or -1
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
	return &hostTally{addrs: make(map[tallyAddr]int32), ids: make(map[string]int32), last: -1}
}

// of returns k's index, adding k when it is new. k's ID may share a line's
// memory: the tally keeps its own copy.
func (t *hostTally) of(k jail.Key) int32 {
	if t.last >= 0 && t.keys[t.last] == k {
		return t.last
	}
	if k.ID != "" {
		i, ok := t.ids[k.ID]
		if !ok {
			k.ID = strings.Clone(k.ID)
			i = t.add(k)
			t.ids[k.ID] = i
		}
		t.last = i
		return i
	}
	a := k.Prefix.Addr()
	ka := tallyAddr{addr: a.As16(), bits: uint8(k.Prefix.Bits()), v4: a.Is4()}
	i, ok := t.addrs[ka]
	if !ok {
		i = t.add(k)
		t.addrs[ka] = i
	}
	t.last = i
	return i
}

func (t *hostTally) add(k jail.Key) int32 {
	t.keys = append(t.keys, k)
	return int32(len(t.keys) - 1)
}

// tallyHit adds one hit on k to jl's tally.
func (jl *Lane) tallyHit(k jail.Key) {
	i := int(jl.tally.of(k))
	if i >= len(jl.hits) {
		jl.hits = append(jl.hits, make([]int, i+1-len(jl.hits))...)
	}
	if jl.hits[i] == 0 {
		jl.hosts++
	}
	jl.hits[i]++
}

// HostHits returns the jail's hits per host: Hosts when the caller set it,
// else what Options.TrackHosts counted (nil without it). Read it after Run
// returns, or from inside Do.
func (jl *Lane) HostHits() map[jail.Key]int {
	if jl.Hosts != nil || jl.tally == nil {
		return jl.Hosts
	}
	m := make(map[jail.Key]int, jl.hosts)
	for i, n := range jl.hits {
		if n > 0 {
			m[jl.tally.keys[i]] = n
		}
	}
	return m
}

// HostCount is how many hosts len(HostHits()) holds, without building it.
func (jl *Lane) HostCount() int {
	if jl.Hosts != nil || jl.tally == nil {
		return len(jl.Hosts)
	}
	return jl.hosts
}
