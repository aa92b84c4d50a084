//go:build linux

package nftables

import (
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// sendBuffer bounds one transaction: a netlink batch goes out in a single
// sendmsg, and the default socket buffer (~200 KiB) holds only about 2,500
// IPv6 bans.
const sendBuffer = 16 << 20

// recvBuffer holds the kernel's answers to one transaction: it acknowledges
// every message of the batch at once, at the end, and each acknowledgement
// costs about a kilobyte of socket buffer, so the default (~200 KiB) overflows
// (ENOBUFS) beyond about 200 messages, i.e. 50,000 IPv4 bans.
const recvBuffer = 16 << 20

// tuneSocket asks for error messages from the kernel, buffers large enough
// for a big burst of bans in one transaction, and full-sized dump messages.
func tuneSocket(c *netlink.Conn) error {
	_ = c.SetOption(netlink.ExtendedAcknowledge, true) // only improves errors
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var serr, rerr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer)
		rerr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, recvBuffer)
	}); err != nil || serr != nil || rerr != nil {
		_ = c.SetWriteBuffer(sendBuffer) // without CAP_NET_ADMIN: capped by wmem_max
		_ = c.SetReadBuffer(recvBuffer)
	}
	primeDumps(c, rc)
	return nil
}

// dumpMessage is the most the kernel puts in one message of a dump.
const dumpMessage = 32 << 10

// primeDumps makes the kernel fill each message of a dump up to dumpMessage
// instead of one page. It sizes them by the largest read the socket has
// seen, and the netlink library reads a page first; so one large read of an
// acknowledged no-op is made here. This matters because the kernel walks a
// set from its start again for every message of a listing: with eight
// times fewer messages, listing 100,000 bans takes about an eighth of the
// time. It only speeds things up, so failures are ignored.
func primeDumps(c *netlink.Conn, rc syscall.RawConn) {
	noop := netlink.Message{Header: netlink.Header{Type: netlink.Noop, Flags: netlink.Request | netlink.Acknowledge}}
	if _, err := c.Send(noop); err != nil {
		return
	}
	// The answer is there at once; the deadline is for a kernel that
	// would not answer.
	if c.SetReadDeadline(time.Now().Add(time.Second)) != nil {
		return
	}
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2*dumpMessage)
	_ = rc.Read(func(fd uintptr) bool {
		_, _, _, _, err := unix.Recvmsg(int(fd), buf, nil, unix.MSG_DONTWAIT)
		return err != unix.EAGAIN
	})
}
