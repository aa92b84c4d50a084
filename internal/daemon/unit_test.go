package daemon

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "../../packaging/systemd/peerjail.service"

// The unit must stay a notify service that checks its config first, and
// hardened to an exposure of 2.0 or lower.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "ExecStartPre=/usr/local/bin/peerjail check", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed: exposure not checked")
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", unitFile).CombinedOutput()
	if err != nil {
		t.Skipf("systemd-analyze security --offline not usable here: %v: %s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for peerjail.service: (\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure %.1f, want at most 2.0", level)
	}
}
