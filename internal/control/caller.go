package control

import "context"

type callerKey struct{}

// WithCaller returns ctx carrying the uid of the client whose command runs
// in it, as the kernel gave it (SO_PEERCRED).
func WithCaller(ctx context.Context, uid uint32) context.Context {
	return context.WithValue(ctx, callerKey{}, uid)
}

// Caller returns the uid of the client whose command ctx runs; false for a
// context that no control connection made (a signal, a test).
func Caller(ctx context.Context) (uint32, bool) {
	uid, ok := ctx.Value(callerKey{}).(uint32)
	return uid, ok
}
