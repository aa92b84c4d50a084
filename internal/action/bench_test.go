package action

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// BenchmarkRunner is the cost of a decision through a Runner to an action
// that does nothing: the queue, batching and outcome, not the backend.
func BenchmarkRunner(b *testing.B) {
	f := NewFake("fake", nil)
	var done atomic.Int64
	all := make(chan struct{})
	want := int64(b.N)
	r := NewRunner(f, RunnerOptions{Jail: "j", Queue: b.N + 1, Outcome: func(o Outcome) {
		if done.Add(int64(len(o.Applied))) == want {
			close(all)
		}
	}})
	defer r.Close()
	d := jail.Decision{Action: jail.ActionBan, Jail: "j", Until: time.Now().Add(time.Hour)}
	b.ResetTimer()
	for i := range b.N {
		d.Key = jail.Key{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}
		r.Submit(d)
	}
	<-all
}
