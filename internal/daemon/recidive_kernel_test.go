package daemon

import (
	"fmt"
	"testing"
)

// In the kernel of a namespace: an escalated ban is the /64 itself, beside
// the single addresses banned before it, and a recidive jail's ban is an
// element of its own sets.
func TestKernelEscalationAndRecidive(t *testing.T) {
	t.Parallel()
	env := newKernelEnv(t)
	mustWrite(t, env.cfg, fmt.Sprintf(`jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 1
    ignoreself: false
    ipv6_escalation: {start: 128, steps: [64], after: 2, within: 1h}
  ssh-again:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 1
    ignoreself: false
  recidive:
    type: recidive
    jails: [ssh, ssh-again]
    maxretry: 2
    ignoreself: false
`, env.logFile))
	env.start(t)
	for _, a := range []string{"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1::3", "198.51.100.20"} {
		env.appendLines(t, failed(a, 1)...)
	}
	for _, id := range []string{"ssh 2001:db8:1:1::/64", "ssh 2001:db8:1:1::1/128", "ssh 2001:db8:1:1::2/128", "recidive 198.51.100.20/32"} {
		env.waitElement(t, id)
	}
	got := env.elements(t)
	if _, ok := got["ssh 2001:db8:1:1::3/128"]; ok {
		t.Errorf("the address whose ban escalated is banned alone too: %v", got)
	}
	if b := bannedIn(t, env.client(), "ssh")["2001:db8:1:1::/64"]; b.EscalatedFrom != 128 {
		t.Errorf("status of the /64: %+v, want escalated from /128", b)
	}
}
