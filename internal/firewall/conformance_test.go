package firewall_test

import (
	"testing"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/firewall/firewalltest"
)

func TestFakeHoldsWhatTheKernelHolds(t *testing.T) { firewalltest.Semantics(t, firewall.NewFake()) }

func TestDryRunHoldsWhatTheKernelHolds(t *testing.T) {
	firewalltest.Semantics(t, firewall.NewDryRun(nil))
}

func TestFakeRestore(t *testing.T) { firewalltest.Restore(t, firewall.NewFake()) }

func TestDryRunRestore(t *testing.T) { firewalltest.Restore(t, firewall.NewDryRun(nil)) }
