package audit

import (
	"errors"
	"fmt"
	"time"
)

func (l *Log) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// syncLoop fsyncs what was written, at most once per SyncEvery, so that a
// storm of batches costs one fsync per interval and none of them waits.
func (l *Log) syncLoop() {
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-l.quit:
			return
		case <-l.wake:
		}
		l.syncNow()
		t.Reset(l.o.SyncEvery)
		select {
		case <-l.quit:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// syncNow fsyncs the current file if written to, and the rotated-away
// files, which it then closes. Only the syncer and Close (after the
// syncer ended) call it, so no file is closed while it is synced.
func (l *Log) syncNow() {
	l.mu.Lock()
	f, dirty, retired := l.f, l.dirty, l.retired
	l.dirty, l.retired = false, nil
	l.mu.Unlock()
	var errs []error
	for _, r := range retired {
		errs = append(errs, l.o.syncFile(r), r.Close())
	}
	if f != nil && dirty {
		errs = append(errs, l.o.syncFile(f))
	}
	if err := errors.Join(errs...); err != nil {
		l.mu.Lock()
		l.fail(fmt.Errorf("fsync %s: %w", l.path, err), 0)
		l.mu.Unlock()
	}
}
