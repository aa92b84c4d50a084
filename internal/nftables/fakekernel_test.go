//go:build linux

package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// fakeKernel answers the netlink requests of the nftables backend from a
// fixed state and records every batch it is sent, so tests can check the
// messages without a kernel. It does not apply the batches.
type fakeKernel struct {
	mu     sync.Mutex
	table  bool                  // whether inet peerjail exists
	sets   map[string]uint32     // set name -> flags (interval, timeout)
	keyLen map[string]uint32     // set name -> key length, default from suffix
	elems  map[string][]fakeElem // set name -> elements as listed
	// torn are listings of a set answered, one per request, before elems:
	// what a dump cut by a resize of the kernel's hash table looks like.
	torn    map[string][][]fakeElem
	fail    []unix.Errno // errno for the first message of successive batches
	batches [][]netlink.Message
	queries []string // the GET requests, by name
}

type fakeElem struct {
	addr             string
	end              bool
	timeout, expires time.Duration
}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{sets: map[string]uint32{}, keyLen: map[string]uint32{}, elems: map[string][]fakeElem{}}
}

// withSet adds a peerjail set with the flags peerjail gives it: an
// interval set for networks (_n4, _n6), else a hash set.
func (k *fakeKernel) withSet(name string, elems ...fakeElem) *fakeKernel {
	k.table = true
	k.sets[name] = unix.NFT_SET_TIMEOUT
	if strings.HasSuffix(name, "_n4") || strings.HasSuffix(name, "_n6") {
		k.sets[name] |= unix.NFT_SET_INTERVAL
	}
	k.elems[name] = elems
	return k
}

func (k *fakeKernel) firewall(t *testing.T) firewall.Firewall {
	t.Helper()
	fw, err := New(withTestDial(k.dial))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k.mu.Lock()
	k.queries = nil
	k.mu.Unlock()
	return fw
}

// setUp returns a firewall that has set up jails, as the daemon's always
// has, with what that sent and read forgotten. The fake kernel does not
// apply the batch: its sets stay as they were.
func (k *fakeKernel) setUp(t *testing.T, jails ...firewall.Jail) firewall.Firewall {
	t.Helper()
	fw := k.firewall(t)
	setup(t, fw, jails...)
	k.mu.Lock()
	k.queries, k.batches = nil, nil
	k.mu.Unlock()
	return fw
}

func (k *fakeKernel) dial(req []netlink.Message) ([]netlink.Message, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(req) == 0 {
		return nil, nil // a receive after all replies were read
	}
	if req[0].Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) {
		return k.batch(req), nil
	}
	var out []netlink.Message
	for _, m := range req {
		out = append(out, k.query(m)...)
	}
	return out, nil
}

func (k *fakeKernel) batch(req []netlink.Message) []netlink.Message {
	k.batches = append(k.batches, req)
	var errno unix.Errno
	if len(k.fail) > 0 {
		errno, k.fail = k.fail[0], k.fail[1:]
	}
	var acks []netlink.Message
	for _, m := range req {
		if m.Header.Flags&netlink.Acknowledge != 0 {
			acks = append(acks, ack(m, errno))
			errno = 0
		}
	}
	return acks
}

func (k *fakeKernel) query(m netlink.Message) []netlink.Message {
	msgType := uint16(m.Header.Type) & 0xff
	k.queries = append(k.queries, msgName(msgType))
	switch msgType {
	case unix.NFT_MSG_GETTABLE:
		if m.Header.Flags&netlink.Dump == 0 && !k.table {
			return []netlink.Message{ack(m, unix.ENOENT)}
		}
		var out []netlink.Message
		if k.table {
			out = append(out, reply(m, unix.NFT_MSG_NEWTABLE, attrs(
				netlink.Attribute{Type: unix.NFTA_TABLE_NAME, Data: cstr(firewall.Table)},
				netlink.Attribute{Type: unix.NFTA_TABLE_FLAGS, Data: be32(0)},
				netlink.Attribute{Type: unix.NFTA_TABLE_USE, Data: be32(1)},
			)))
		}
		return done(m, out)
	case unix.NFT_MSG_GETSET:
		var out []netlink.Message
		for name, flags := range k.sets {
			out = append(out, reply(m, unix.NFT_MSG_NEWSET, k.setAttrs(name, flags)))
		}
		return done(m, out)
	case unix.NFT_MSG_GETCHAIN: // no chain: the rules are not read
		return done(m, nil)
	case unix.NFT_MSG_GETSETELEM:
		name := attrString(m.Data[4:], unix.NFTA_SET_ELEM_LIST_SET)
		els := k.elems[name]
		if q := k.torn[name]; len(q) > 0 {
			els, k.torn[name] = q[0], q[1:]
		}
		return done(m, []netlink.Message{reply(m, unix.NFT_MSG_NEWSETELEM, elemAttrs(name, els))})
	}
	return []netlink.Message{ack(m, unix.EOPNOTSUPP)}
}

func (k *fakeKernel) setAttrs(name string, flags uint32) []byte {
	keyType, keyLen := uint32(8), uint32(16)
	if strings.HasSuffix(name, "_v4") || strings.HasSuffix(name, "_n4") {
		keyType, keyLen = 7, 4
	}
	if l, ok := k.keyLen[name]; ok {
		keyLen = l
	}
	return attrs(
		netlink.Attribute{Type: unix.NFTA_SET_TABLE, Data: cstr(firewall.Table)},
		netlink.Attribute{Type: unix.NFTA_SET_NAME, Data: cstr(name)},
		netlink.Attribute{Type: unix.NFTA_SET_FLAGS, Data: be32(flags)},
		netlink.Attribute{Type: unix.NFTA_SET_KEY_TYPE, Data: be32(keyType)},
		netlink.Attribute{Type: unix.NFTA_SET_KEY_LEN, Data: be32(keyLen)},
	)
}

func elemAttrs(set string, elems []fakeElem) []byte {
	var list []netlink.Attribute
	for _, e := range elems {
		key := attrs(netlink.Attribute{Type: unix.NFTA_DATA_VALUE, Data: netip.MustParseAddr(e.addr).AsSlice()})
		item := []netlink.Attribute{{Type: unix.NFTA_SET_ELEM_KEY | unix.NLA_F_NESTED, Data: key}}
		if e.end {
			item = append(item, netlink.Attribute{Type: unix.NFTA_SET_ELEM_FLAGS, Data: be32(unix.NFT_SET_ELEM_INTERVAL_END)})
		}
		if e.timeout > 0 {
			item = append(item,
				netlink.Attribute{Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: be64(uint64(e.timeout.Milliseconds()))},
				netlink.Attribute{Type: unix.NFTA_SET_ELEM_EXPIRATION, Data: be64(uint64(e.expires.Milliseconds()))})
		}
		list = append(list, netlink.Attribute{Type: unix.NFTA_LIST_ELEM | unix.NLA_F_NESTED, Data: attrs(item...)})
	}
	return attrs(
		netlink.Attribute{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: cstr(firewall.Table)},
		netlink.Attribute{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: cstr(set)},
		netlink.Attribute{Type: unix.NFTA_SET_ELEM_LIST_ELEMENTS | unix.NLA_F_NESTED, Data: attrs(list...)},
	)
}

func reply(req netlink.Message, msgType uint16, data []byte) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{
			Type:     netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msgType),
			Flags:    netlink.Multi,
			Sequence: req.Header.Sequence,
			PID:      req.Header.PID,
		},
		Data: append([]byte{unix.NFPROTO_INET, 0, 0, 0}, data...),
	}
}

// done ends a dump; a request that is not a dump gets its one reply alone.
func done(req netlink.Message, out []netlink.Message) []netlink.Message {
	if req.Header.Flags&netlink.Dump == 0 {
		for i := range out {
			out[i].Header.Flags = 0
		}
		return out
	}
	return append(out, netlink.Message{
		Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   make([]byte, 4),
	})
}

func ack(req netlink.Message, errno unix.Errno) netlink.Message {
	data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	hdr, _ := (netlink.Message{Header: req.Header}).MarshalBinary()
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append(data, hdr[:16]...),
	}
}

func attrs(as ...netlink.Attribute) []byte {
	b, err := netlink.MarshalAttributes(as)
	if err != nil {
		panic(err)
	}
	return b
}

func attrString(b []byte, typ uint16) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == typ {
			return ad.String()
		}
	}
	return ""
}

func cstr(s string) []byte    { return append([]byte(s), 0) }
func be32(v uint32) []byte    { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte    { return binary.BigEndian.AppendUint64(nil, v) }
func msgName(t uint16) string { return strings.TrimPrefix(msgNames[t], "NFT_MSG_") }

var msgNames = map[uint16]string{
	unix.NFT_MSG_NEWTABLE: "NEWTABLE", unix.NFT_MSG_GETTABLE: "GETTABLE", unix.NFT_MSG_DELTABLE: "DELTABLE",
	unix.NFT_MSG_NEWCHAIN: "NEWCHAIN", unix.NFT_MSG_GETCHAIN: "GETCHAIN", unix.NFT_MSG_DELCHAIN: "DELCHAIN",
	unix.NFT_MSG_NEWRULE: "NEWRULE", unix.NFT_MSG_DELRULE: "DELRULE",
	unix.NFT_MSG_NEWSET: "NEWSET", unix.NFT_MSG_GETSET: "GETSET", unix.NFT_MSG_DELSET: "DELSET",
	unix.NFT_MSG_NEWSETELEM: "NEWSETELEM", unix.NFT_MSG_GETSETELEM: "GETSETELEM", unix.NFT_MSG_DELSETELEM: "DELSETELEM",
}

// describe renders a batch message for comparison: its type, the set or
// chain it names and, for elements, each key with its flags and timeout.
func describe(m netlink.Message) string {
	switch m.Header.Type {
	case netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN):
		return "BEGIN"
	case netlink.HeaderType(unix.NFNL_MSG_BATCH_END):
		return "END"
	}
	t := uint16(m.Header.Type) & 0xff
	name := msgName(t)
	body := m.Data[4:]
	switch t {
	case unix.NFT_MSG_NEWSET, unix.NFT_MSG_DELSET:
		return name + " " + attrString(body, unix.NFTA_SET_NAME)
	case unix.NFT_MSG_NEWCHAIN:
		return name + " " + attrString(body, unix.NFTA_CHAIN_NAME)
	case unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
		return name + " " + attrString(body, unix.NFTA_RULE_CHAIN)
	case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE:
		return name + " " + attrString(body, unix.NFTA_TABLE_NAME)
	case unix.NFT_MSG_NEWSETELEM, unix.NFT_MSG_DELSETELEM:
		return name + " " + attrString(body, unix.NFTA_SET_ELEM_LIST_SET) + ":" + describeElems(body)
	}
	return name
}

func describeElems(body []byte) string {
	var sb strings.Builder
	ad, _ := netlink.NewAttributeDecoder(body)
	for ad.Next() {
		if ad.Type() != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		list, _ := netlink.NewAttributeDecoder(ad.Bytes())
		for list.Next() {
			sb.WriteString(" " + describeElem(list.Bytes()))
		}
	}
	return sb.String()
}

func describeElem(b []byte) string {
	var key, flags, timeout string
	ad, _ := netlink.NewAttributeDecoder(b)
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_ELEM_KEY:
			a, _ := netip.AddrFromSlice([]byte(attrBytes(ad.Bytes(), unix.NFTA_DATA_VALUE)))
			key = a.String()
		case unix.NFTA_SET_ELEM_FLAGS:
			if ad.Uint32()&unix.NFT_SET_ELEM_INTERVAL_END != 0 {
				flags = "end:"
			}
		case unix.NFTA_SET_ELEM_TIMEOUT:
			timeout = fmt.Sprintf("/%s", time.Duration(ad.Uint64())*time.Millisecond)
		}
	}
	return flags + key + timeout
}

func attrBytes(b []byte, typ uint16) string {
	ad, _ := netlink.NewAttributeDecoder(b)
	for ad.Next() {
		if ad.Type() == typ {
			return string(ad.Bytes())
		}
	}
	return ""
}
