//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// logHit is one counted attack line of the log: where it starts, whose it
// is (a host index) and its time.
type logHit struct {
	off  int64
	host int
	at   time.Time
}

// e2eFlood appends sshd lines to the log: failed logins, each followed by
// noise that must not count (accepted logins, preauth and pam lines naming
// the same address), and now and then a failure from 127.0.0.1, which
// the default ignoreip ignores. Each line has its own time, a microsecond
// apart at least, so that a ban's start names the line that caused it.
type e2eFlood struct {
	w     *bufio.Writer
	noise int // noise lines after each failure
	off   int64
	seq   int
	last  time.Time
	line  []byte
	hits  []logHit // read them once done is closed

	done chan struct{}
	err  error
}

var (
	failureFormats = []string{
		" node sshd[%d]: Failed password for root from %s port %d ssh2",
		" node sshd[%d]: Failed password for invalid user admin from %s port %d ssh2",
		" node sshd[%d]: Invalid user oracle from %s port %d",
	}
	noiseFormats = []string{
		" node sshd[%d]: Accepted publickey for deploy from %s port %d ssh2: ED25519 SHA256:x3Rk3Ppl0f1b0s8r9fOVd4LK8yY",
		" node sshd[%d]: Connection closed by authenticating user root %s port %d [preauth]",
		" node sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%[2]s",
		" node sshd[%d]: Disconnected from invalid user oracle %s port %d [preauth]",
	}
)

func (n *e2eNode) newFlood(noisePerFailure int) *e2eFlood {
	n.t.Helper()
	f, err := os.OpenFile(n.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		n.t.Fatal(err)
	}
	return &e2eFlood{w: bufio.NewWriterSize(f, 64<<10), noise: noisePerFailure, off: fi.Size(), done: make(chan struct{})}
}

func (fl *e2eFlood) emit(format, host string) time.Time {
	fl.seq++
	at := time.Now().UTC().Truncate(time.Microsecond)
	if !at.After(fl.last) {
		at = fl.last.Add(time.Microsecond)
	}
	fl.last = at
	fl.line = at.AppendFormat(fl.line[:0], "2006-01-02T15:04:05.000000Z")
	fl.line = fmt.Appendf(fl.line, format, 1000+fl.seq%9000, host, 1024+fl.seq%60000)
	fl.line = append(fl.line, '\n')
	_, _ = fl.w.Write(fl.line) // the error sticks: Flush returns it
	fl.off += int64(len(fl.line))
	return at
}

// fail writes a failed login of host i and its noise.
func (fl *e2eFlood) fail(i int) {
	off := fl.off
	at := fl.emit(failureFormats[fl.seq%len(failureFormats)], hostName(i))
	fl.hits = append(fl.hits, logHit{off: off, host: i, at: at})
	if fl.seq%10 == 0 {
		fl.emit(failureFormats[0], "127.0.0.1")
	}
	for range fl.noise {
		fl.emit(noiseFormats[fl.seq%len(noiseFormats)], hostName(i))
	}
}

// write writes failures of the hosts, in order, and flushes them.
func (fl *e2eFlood) write(t *testing.T, hosts ...int) {
	t.Helper()
	for _, i := range hosts {
		fl.fail(i)
	}
	if err := fl.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// start writes the phases' failures in a goroutine, as fast as it can.
// Between two phases it goes on writing noise at a steady pace until the
// test opens the gate in between, so that the daemon is busy reading
// whenever the test acts on it.
func (fl *e2eFlood) start(t *testing.T, phases [][]int, gates []chan struct{}) {
	stop := make(chan struct{})
	go func() {
		defer close(fl.done)
		for p, hosts := range phases {
			if p > 0 {
				if fl.err = fl.pace(gates[p-1], stop); fl.err != nil {
					return
				}
			}
			for _, i := range hosts {
				fl.fail(i)
			}
			if fl.err = fl.w.Flush(); fl.err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-fl.done })
}

func (fl *e2eFlood) pace(gate, stop <-chan struct{}) error {
	limit := time.After(40 * time.Second)
	for {
		select {
		case <-gate:
			return nil
		case <-stop:
			return errors.New("stopped")
		case <-limit:
			return errors.New("the test did not open the gate within 40s")
		case <-time.After(2 * time.Millisecond):
		}
		for range 200 {
			fl.emit(noiseFormats[fl.seq%len(noiseFormats)], hostName(fl.seq%200))
		}
		if err := fl.w.Flush(); err != nil {
			return err
		}
	}
}

func (fl *e2eFlood) wait(t *testing.T) {
	t.Helper()
	select {
	case <-fl.done:
	case <-time.After(40 * time.Second):
		t.Fatal("flood still writing after 40s")
	}
	if fl.err != nil {
		t.Fatalf("flood: %v", fl.err)
	}
}
