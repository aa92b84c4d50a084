package action

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/peerjail/peerjail/internal/jail"
)

// Fake is an in-memory Action for tests: it holds what it is given, can be
// told to fail some decisions, and keeps every Apply's batch.
type Fake struct {
	name  string
	takes func(jail.Key) bool

	mu      sync.Mutex
	held    map[heldKey]jail.Decision
	batches [][]jail.Decision
	fail    func(jail.Decision) error
	closed  bool
}

type heldKey struct{ jail, key string }

// NewFake returns a Fake named name that takes the keys takes accepts (nil:
// every key).
func NewFake(name string, takes func(jail.Key) bool) *Fake {
	if takes == nil {
		takes = jail.Key.IsValid
	}
	return &Fake{name: name, takes: takes, held: map[heldKey]jail.Decision{}}
}

// FailWith makes Apply fail every decision f returns an error for (nil
// makes every decision succeed again).
func (f *Fake) FailWith(fn func(jail.Decision) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// Batches returns every batch Apply was given, failed ones included.
func (f *Fake) Batches() [][]jail.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

// Closed reports whether Close was called.
func (f *Fake) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *Fake) Name() string          { return f.name }
func (f *Fake) Takes(k jail.Key) bool { return f.takes(k) }

func (f *Fake) Apply(ctx context.Context, ds []jail.Decision) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, slices.Clone(ds))
	var failed Failed
	for i, d := range ds {
		if f.fail != nil {
			if err := f.fail(d); err != nil {
				failed.Index = append(failed.Index, i)
				failed.Errs = append(failed.Errs, err)
				continue
			}
		}
		k := heldKey{d.Jail, d.Key.String()}
		if d.Action == jail.ActionBan {
			f.held[k] = d
		} else {
			delete(f.held, k)
		}
	}
	if len(failed.Index) > 0 {
		return &failed
	}
	return nil
}

func (f *Fake) Held(context.Context) ([]Held, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Held, 0, len(f.held))
	for k := range f.held {
		out = append(out, Held{Jail: k.jail, Key: k.key})
	}
	slices.SortFunc(out, func(a, b Held) int {
		return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

func (f *Fake) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}
