package source

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine they started, a
// follower or a watcher, outlives them: Run must join what it starts.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
