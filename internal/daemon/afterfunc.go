package daemon

import "context"

// afterFunc is context.AfterFunc whose stop also waits for f if f has
// started: the goroutine AfterFunc runs f on is then joined, and nothing
// of a connection or a server outlives the call that owns it.
func afterFunc(ctx context.Context, f func()) (stop func()) {
	ran := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(ran)
		f()
	})
	return func() {
		if !cancel() {
			<-ran
		}
	}
}
