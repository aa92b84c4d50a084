package config

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

// fail2banAgreement is the share of lines on which a stock sshd filter and
// fail2ban's sshd filter in the same mode must agree host for host: both
// count the line against the same address, or neither counts it.
const fail2banAgreement = 0.95

// TestStockSSHDAgreesWithFail2ban compares the sshd filters with fail2ban
// 1.0.2 on real OpenSSH lines (loghub's OpenSSH_2k.log; the verdicts were
// written by testdata/stock/loghub/fail2ban-verdicts.py). Every disagreement
// is logged, so a change in agreement shows which lines moved.
func TestStockSSHDAgreesWithFail2ban(t *testing.T) {
	dir := filepath.Join("testdata", "stock", "loghub")
	data, err := os.ReadFile(filepath.Join(dir, "OpenSSH_2k.head.log"))
	if err != nil {
		t.Fatal(err)
	}
	for mode, name := range map[string]string{"normal": "sshd", "ddos": "sshd-ddos", "aggressive": "sshd-aggressive"} {
		t.Run(name, func(t *testing.T) {
			want := readVerdicts(t, filepath.Join(dir, "OpenSSH_2k.head.fail2ban-"+mode))
			f := stockFilter(t, name)
			total, agree := 0, 0
			sc := bufio.NewScanner(bytes.NewReader(data))
			for n := 1; sc.Scan(); n++ {
				total++
				hit, out := f.Match(&logline.Line{Text: sc.Bytes()})
				got := ""
				if out == filter.Match {
					got = hit.Host.String()
				}
				if got == want[n] {
					agree++
					continue
				}
				t.Logf("line %d: fail2ban %q, %s %q: %s", n, want[n], name, got, sc.Text())
			}
			share := float64(agree) / float64(total)
			t.Logf("%s agrees with fail2ban sshd[mode=%s] on %d of %d lines (%.1f%%)", name, mode, agree, total, 100*share)
			if share < fail2banAgreement {
				t.Errorf("agreement %.1f%% below %.0f%%", 100*share, 100*fail2banAgreement)
			}
		})
	}
}

func readVerdicts(t *testing.T, path string) map[int]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		n, host, ok := strings.Cut(l, " ")
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			t.Fatalf("%s: bad line %q", path, l)
		}
		if host == "None" {
			host = ""
		}
		out[i] = host
	}
	return out
}
