package firewall

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Call is one call a Fake received.
type Call struct {
	Method  string   // "Setup", "Apply", "Restore", "List", "Verify", "Flush" or "Close"
	Jails   []Jail   // for Setup
	Changes []Change // for Apply
}

// Fake is an in-memory Firewall for tests of its users. It records every
// call, resolves overlaps like the nftables backend and expires elements by
// its own clock, which starts at FakeEpoch and moves only with Advance
// unless SetClock gives it another source (time.Now inside a synctest bubble).
type Fake struct {
	mu     sync.Mutex
	mem    memory
	manual time.Time
	clock  func() time.Time
	calls  []Call
	fail   map[string]error
	closed bool
	// watchers are the Watch calls running, told of every change made
	// through the "someone else" methods (FlushRuleset, ...).
	watchers map[int]func()
	nextID   int
}

// FakeEpoch is the time a Fake's clock starts at.
var FakeEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	_ Firewall = (*Fake)(nil)
	_ Watcher  = (*Fake)(nil)
)

// NewFake returns an empty Fake; Setup must be called before Apply, as with
// the kernel.
func NewFake() *Fake {
	f := &Fake{manual: FakeEpoch, fail: map[string]error{}}
	f.mem.at = FakeEpoch
	return f
}

// Advance moves the fake's own clock forward.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.manual = f.manual.Add(d)
}

// SetClock makes the fake read the time from now instead of its own clock.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = now
	f.mem.advance(now())
}

// FailNext makes the next call of method ("Setup", "Apply", "Restore",
// "List", "Verify", "Flush") return err without changing anything.
func (f *Fake) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// Calls returns a copy of the calls received so far, failed ones included.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Call, len(f.calls))
	for i, c := range f.calls {
		out[i] = Call{Method: c.Method, Jails: cloneJails(c.Jails), Changes: slices.Clone(c.Changes)}
	}
	return out
}

func (f *Fake) now() time.Time {
	if f.clock != nil {
		return f.clock()
	}
	return f.manual
}

// begin records a call and returns the error it must fail with, if any.
func (f *Fake) begin(ctx context.Context, c Call) error {
	f.calls = append(f.calls, c)
	if f.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := f.fail[c.Method]; ok {
		delete(f.fail, c.Method)
		return err
	}
	return nil
}

// Setup implements Firewall.
func (f *Fake) Setup(ctx context.Context, jails []Jail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "Setup", Jails: cloneJails(jails)}); err != nil {
		return err
	}
	f.mem.advance(f.now())
	return f.mem.setup(jails)
}

// Apply implements Firewall.
func (f *Fake) Apply(ctx context.Context, changes []Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "Apply", Changes: slices.Clone(changes)}); err != nil {
		return err
	}
	return f.mem.apply(changes, f.now(), discard)
}

// Restore implements Firewall.
func (f *Fake) Restore(ctx context.Context, bans []Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "Restore", Changes: slices.Clone(bans)}); err != nil {
		return err
	}
	norm, err := RestoreOrder(bans)
	if err != nil {
		return err
	}
	return f.mem.apply(norm, f.now(), discard)
}

// List implements Firewall.
func (f *Fake) List(ctx context.Context) ([]Element, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "List"}); err != nil {
		return nil, err
	}
	return f.mem.list(f.now(), discard), nil
}

// Flush implements Firewall.
func (f *Fake) Flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "Flush"}); err != nil {
		return err
	}
	f.mem.flush()
	return nil
}

// Verify implements Firewall.
func (f *Fake) Verify(ctx context.Context, jails []Jail, bans []Change) (Drift, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, Call{Method: "Verify", Jails: cloneJails(jails), Changes: slices.Clone(bans)}); err != nil {
		return Drift{}, err
	}
	return f.mem.verify(jails, bans, f.now())
}

// Watch implements Watcher: changed is called after each change made
// through FlushRuleset, DeleteSet or DeleteElement, the fake's stand-ins for
// another process at work on the kernel.
func (f *Fake) Watch(ctx context.Context, changed func()) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	if f.watchers == nil {
		f.watchers = map[int]func(){}
	}
	id := f.nextID
	f.nextID++
	f.watchers[id] = changed
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.watchers, id)
	f.mu.Unlock()
	return ctx.Err()
}

// Watchers returns how many Watch calls are running.
func (f *Fake) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

// FlushRuleset drops the whole table behind the backend's back, as
// `nft flush ruleset` does. It is not recorded as a call.
func (f *Fake) FlushRuleset() {
	f.tamper(func() { f.mem.flush() })
}

// DeleteSet drops one set, as `nft delete set inet peerjail NAME` does.
func (f *Fake) DeleteSet(set string) {
	f.tamper(func() { f.mem.deleteSet(set) })
}

// DeleteElement drops the element exactly p from a jail's set, as
// `nft delete element` does; false if it was not there.
func (f *Fake) DeleteElement(jail string, p netip.Prefix) bool {
	var ok bool
	f.tamper(func() {
		f.mem.advance(f.now())
		ok = f.mem.deleteElement(jail, p.Masked())
	})
	return ok
}

// tamper changes the model as another process would and tells the watchers,
// outside the lock, as the kernel's events arrive on their own.
func (f *Fake) tamper(change func()) {
	f.mu.Lock()
	change()
	watchers := make([]func(), 0, len(f.watchers))
	for _, w := range f.watchers {
		watchers = append(watchers, w)
	}
	f.mu.Unlock()
	for _, w := range watchers {
		w()
	}
}

// Close implements Firewall; later calls fail with ErrClosed.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: "Close"})
	f.closed = true
	return nil
}

func cloneJails(jails []Jail) []Jail {
	out := slices.Clone(jails)
	for i := range out {
		out[i].Ports = slices.Clone(out[i].Ports)
	}
	return out
}

var discard = slog.New(slog.DiscardHandler)
