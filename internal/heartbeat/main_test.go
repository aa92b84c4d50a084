package heartbeat

import (
	"testing"

	"go.uber.org/goleak"
)

// A stopped pinger leaves nothing running: not its loop, not a kept-alive
// connection of its HTTP client.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
