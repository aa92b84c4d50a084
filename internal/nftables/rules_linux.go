//go:build linux

package nftables

import (
	"encoding/binary"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// chainPriority runs the bans before the usual filter chains (priority 0).
const chainPriority = -10

func inputChain(t *nftables.Table) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name:     firewall.Chain,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookInput,
		Priority: nftables.ChainPriorityRef(chainPriority),
		Policy:   &accept,
	}
}

// jailRules drops traffic from the jail's sets: per set, one rule per
// protocol and port range, or a single rule for all traffic.
func jailRules(t *nftables.Table, ch *nftables.Chain, j firewall.Jail, sets []*nftables.Set) []*nftables.Rule {
	var rules []*nftables.Rule
	for _, s := range sets {
		v4 := s.KeyType.Bytes == nftables.TypeIPAddr.Bytes
		for _, m := range trafficMatches(j) {
			exprs := familyMatch(v4)
			exprs = append(exprs, m...)
			exprs = append(exprs, sourceIn(s, v4, maskBits(s, j))...)
			exprs = append(exprs, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
			rules = append(rules, &nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
		}
	}
	return rules
}

// familyMatch is `meta nfproto ipv4|ipv6`, needed in an inet table before
// reading the source address.
func familyMatch(v4 bool) []expr.Any {
	proto := byte(unix.NFPROTO_IPV6)
	if v4 {
		proto = unix.NFPROTO_IPV4
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// sourceIn is `ip saddr @set`, `ip6 saddr @set` or, when bits masks the
// address (0 < bits < 128), `ip6 saddr & ffff:...:: @set`.
func sourceIn(s *nftables.Set, v4 bool, bits int) []expr.Any {
	offset, size := uint32(8), uint32(16) // IPv6 source address
	if v4 {
		offset, size = 12, 4
	}
	out := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size}}
	if !v4 && bits > 0 && bits < 128 {
		var mask [16]byte
		for i := range bits {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: mask[:], Xor: make([]byte, 16)})
	}
	return append(out, &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID})
}

// trafficMatches returns, per rule, the matches that limit a jail to its
// protocol and ports: `meta l4proto tcp th dport 4001`. A jail with ports
// but protocol "all" gets rules for tcp and udp.
func trafficMatches(j firewall.Jail) [][]expr.Any {
	var protos []byte
	switch {
	case j.Protocol == "tcp":
		protos = []byte{unix.IPPROTO_TCP}
	case j.Protocol == "udp":
		protos = []byte{unix.IPPROTO_UDP}
	case len(j.Ports) > 0:
		protos = []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP}
	default:
		return [][]expr.Any{nil}
	}
	var out [][]expr.Any
	for _, p := range protos {
		proto := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
		}
		if len(j.Ports) == 0 {
			out = append(out, proto)
		}
		for _, r := range j.Ports {
			out = append(out, append(proto[:2:2], portMatch(r)...))
		}
	}
	return out
}

// portMatch is `th dport N` or `th dport N-M`.
func portMatch(r firewall.PortRange) []expr.Any {
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
	if r.From == r.To {
		return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(r.From)}}
	}
	return []expr.Any{load, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(r.From), ToData: be16(r.To)}}
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
