package control

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// panicky panics in Status; the other commands come from fakeHandler.
type panicky struct{ fakeHandler }

func (*panicky) Status(context.Context, string) ([]JailStatus, error) { panic("boom") }

// A handler that panics answers an error and leaves the server serving.
func TestHandlerPanic(t *testing.T) {
	_, path := serve(t, &panicky{}, nil)
	c := Client{Path: path, Timeout: 5 * time.Second}
	_, err := c.Status(context.Background(), "")
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "internal error in status: boom") {
		t.Fatalf("status: %v", err)
	}
	if err := c.Reload(context.Background()); err != nil {
		t.Fatalf("server not serving after a panic: %v", err)
	}
}
