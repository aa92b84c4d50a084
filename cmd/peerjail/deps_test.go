package main

import (
	"os/exec"
	"strings"
	"testing"
)

// testOnly are packages that exist for tests: none may be linked into the
// binary. (github.com/mdlayher/netlink/nltest is not among them although it
// is a test dialer: github.com/google/nftables imports it for WithTestDial,
// so every user of that module links it.)
var testOnly = []string{
	"testing",
	"github.com/peerjail/peerjail/internal/firewall/firewalltest",
	"github.com/peerjail/peerjail/internal/netnstest",
	"go.uber.org/goleak",
}

func TestBinaryLinksNoTestOnlyPackage(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command to list the binary's packages")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, d := range deps {
		for _, bad := range testOnly {
			if d == bad || strings.HasPrefix(d, bad+"/") {
				t.Errorf("the binary links %s, which is for tests only", d)
			}
		}
		if strings.HasPrefix(d, "github.com/peerjail/") && strings.HasSuffix(d, "test") {
			t.Errorf("the binary links %s: packages named *test are for tests only", d)
		}
	}
}
