package config

import (
	"bufio"
	"bytes"
	"fmt"
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
	for mode, name := range map[string]string{"normal": "sshd", "ddos": "sshd-ddos", "aggressive": "sshd-aggressive"} {
		t.Run(name, func(t *testing.T) {
			f := stockFilter(t, name)
			total, agree := 0, 0
			for _, sample := range []string{"OpenSSH_2k.head", "OpenSSH_2k.mid"} {
				data, err := os.ReadFile(filepath.Join(dir, sample+".log"))
				if err != nil {
					t.Fatal(err)
				}
				want := readVerdicts(t, filepath.Join(dir, sample+".fail2ban-"+mode))
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
					t.Logf("%s:%d: fail2ban %q, %s %q: %s", sample, n, want[n], name, got, sc.Text())
				}
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

// TestStockSSHDHostileUserNames puts user names that carry the victim's
// address into every sshd message that holds one, in every mode: the host
// is always the address sshd wrote after the name, or nobody.
func TestStockSSHDHostileUserNames(t *testing.T) {
	const real = "198.51.100.9"
	names := []string{
		victim,
		"x from " + victim,
		"x from " + victim + " port 22",
		"x from " + victim + " port 22 ssh2",
		"x from " + victim + " port 22 ssh2: RSA SHA256:abc",
		"a " + victim + " port 1",
		"x from " + victim + " not allowed because not listed in AllowUsers",
		"x from " + victim + " via ssh",
		"(" + victim + ")",
		"",
	}
	templates := []string{
		"Failed password for invalid user %s from %s port 2222 ssh2",
		"Failed publickey for invalid user %s from %s port 2222 ssh2: ED25519 SHA256:AAAA",
		"Failed keyboard-interactive/pam for invalid user %s from %s port 2222 ssh2",
		"Invalid user %s from %s port 2222",
		"Invalid user %s from %s",
		"error: PAM: Authentication failure for illegal user %s from %s",
		"error: PAM: User not known to the underlying authentication module for illegal user %s from %s",
		"User %s from %s not allowed because listed in DenyUsers",
		"error: maximum authentication attempts exceeded for invalid user %s from %s port 2222 ssh2 [preauth]",
		"Connection closed by invalid user %s %s port 2222 [preauth]",
		"Disconnected from invalid user %s %s port 2222 [preauth]",
	}
	for _, tmpl := range templates {
		matched := 0
		for _, name := range []string{"sshd", "sshd-ddos", "sshd-aggressive"} {
			f := stockFilter(t, name)
			for _, user := range names {
				line := "Dec  1 08:56:14 bastion sshd[7]: " + fmt.Sprintf(tmpl, user, real)
				hit, out := f.Match(&logline.Line{Text: []byte(line)})
				if out != filter.Match {
					continue
				}
				matched++
				if hit.Host.String() != real {
					t.Errorf("%s blames %s: %q", name, hit.Host, line)
				}
			}
		}
		// Each message is a failure some mode counts: a template nothing
		// matches would test nothing.
		if matched == 0 {
			t.Errorf("no mode matched %q", tmpl)
		}
	}
}
