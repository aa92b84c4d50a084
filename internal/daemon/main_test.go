package daemon

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the daemon starts is ended by Stop or Reload: after all
// tests, none is left (each test stops its daemons in its cleanup).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
