package fleet

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: Run must
// end the publisher, the consumer, the sweeper and the NATS client's own.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
