package control

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"
)

// callerHandler notes the uid each command ran under.
type callerHandler struct {
	fakeHandler
	uids chan uint32
}

func (h *callerHandler) Unban(ctx context.Context, jail, host string, all bool) (int, error) {
	if uid, ok := Caller(ctx); ok {
		h.uids <- uid
	}
	return h.fakeHandler.Unban(ctx, jail, host, all)
}

// TestCallerAndUnbanEveryJail: a command runs with the client's uid from
// the kernel, and unban without a jail reaches the handler as jail "".
func TestCallerAndUnbanEveryJail(t *testing.T) {
	h := &callerHandler{uids: make(chan uint32, 2)}
	h.lifted = 3
	_, path := serve(t, h, nil)
	c := Client{Path: path, Timeout: 5 * time.Second}
	for _, tt := range []struct {
		host string
		all  bool
	}{{"203.0.113.7", false}, {"", true}} {
		n, err := c.Unban(context.Background(), "", tt.host, tt.all)
		if err != nil || n != 3 {
			t.Fatalf("unban %q all=%v: %d, %v", tt.host, tt.all, n, err)
		}
		if uid := <-h.uids; uid != uint32(os.Getuid()) {
			t.Errorf("caller uid %d, want %d", uid, os.Getuid())
		}
	}
	want := []string{`unban "" "203.0.113.7" false`, `unban "" "" true`}
	if got := h.callLog(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if _, ok := Caller(context.Background()); ok {
		t.Error("a context without a connection has a caller")
	}
}
