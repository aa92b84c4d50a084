package main

import (
	"fmt"
	"time"
)

// Line categories of the sshd corpus. The hostile ones carry a victim's
// address in the user name, where the client chose it.
const (
	catFailed              = "failed_password"
	catInvalidUser         = "invalid_user"
	catMaxAuth             = "max_auth"
	catPreauthClose        = "preauth_close"
	catHostileFailed       = "adv_failed_password"
	catHostileInvalidUser  = "adv_invalid_user"
	catHostilePreauthClose = "adv_preauth_close"
	catPAM                 = "pam_failure"
	catTooMany             = "too_many_auth"
	catAccepted            = "accepted"
)

// sshdNormal are the categories fail2ban's sshd filter counts in its normal
// mode (and peerjail's stock sshd filter with it).
var sshdNormal = []string{catFailed, catInvalidUser, catMaxAuth, catHostileFailed, catHostileInvalidUser}

var (
	sshInvalidUsers = []string{"admin", "test", "user", "oracle", "postgres", "ubuntu", "git", "guest",
		"support", "ftpuser", "pi", "deploy", "hadoop", "minecraft", "1234", "steam", "vagrant"}
	sshUsers       = []string{"alice", "bob", "carol", "deploy-bot"}
	sshOtherFormat = []string{
		"CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
		"CRON[%d]: pam_unix(cron:session): session closed for user root",
		"systemd-logind[412]: New session %d of user alice.",
		"systemd-logind[412]: Session %d logged out. Waiting for processes to exit.",
		"systemd-logind[412]: Removed session %d.",
		"sudo[%d]: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
	}
)

// sshLine is one line of a session before it gets its time and pid.
type sshLine struct {
	text           string
	host, category string
	victim         string
}

// sshdSessions is how many connections are open at once; their lines
// interleave as they do in a real auth.log.
const sshdSessions = 24

func writeSSHD(g *gen) {
	type session struct {
		pid   int
		lines []sshLine
	}
	pid := 20000
	open := func() session {
		pid += 1 + g.rng.IntN(39)
		return session{pid: pid, lines: sshSession(g)}
	}
	var active [sshdSessions]session
	for i := range active {
		active[i] = open()
	}
	var text []byte
	for range g.opt.lines {
		g.tick()
		at := g.now.Truncate(time.Second)
		text = append(at.UTC().AppendFormat(text[:0], syslogTime), " bastion "...)
		if g.chance(g.opt.otherShare) {
			text = fmt.Appendf(text, pick(g, sshOtherFormat), 1000+g.rng.IntN(99000))
			g.emit(line{text: text, at: at})
			continue
		}
		s := &active[g.rng.IntN(sshdSessions)]
		l := s.lines[0]
		text = fmt.Appendf(text, "sshd[%d]: %s", s.pid, l.text)
		if s.lines = s.lines[1:]; len(s.lines) == 0 {
			*s = open()
		}
		g.emit(line{text: text, at: at, host: l.host, category: l.category, victim: l.victim})
	}
}

func sshSession(g *gen) []sshLine {
	switch r := g.rng.Float64(); {
	case r < g.opt.hostileShare:
		return hostileSession(g)
	case r < 0.45:
		return bruteForce(g)
	case r < 0.80:
		return scan(g)
	}
	return login(g)
}

func sshPort(g *gen) int { return 1024 + g.rng.IntN(64512) }

func bruteForce(g *gen) []sshLine {
	h, p := g.hosts.attacker(), sshPort(g)
	var ls []sshLine
	add := func(cat, format string, args ...any) {
		ls = append(ls, sshLine{text: fmt.Sprintf(format, args...), host: h, category: cat})
	}
	if g.chance(0.5) {
		// a real account, tried until sshd gives up
		tries := 1 + g.rng.IntN(6)
		method := pick(g, []string{"password", "password", "password", "publickey"})
		for range tries {
			add(catPAM, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=root", h)
			if method == "publickey" {
				add(catFailed, "Failed publickey for root from %s port %d ssh2: RSA SHA256:%s", h, p, g.chars(base58, 43))
			} else {
				add(catFailed, "Failed password for root from %s port %d ssh2", h, p)
			}
		}
		if tries == 6 {
			add(catMaxAuth, "error: maximum authentication attempts exceeded for root from %s port %d ssh2 [preauth]", h, p)
			add(catTooMany, "Disconnecting authenticating user root %s port %d: Too many authentication failures [preauth]", h, p)
		} else {
			add(catPreauthClose, "Connection closed by authenticating user root %s port %d [preauth]", h, p)
		}
		return ls
	}
	u := pick(g, sshInvalidUsers)
	add(catInvalidUser, "Invalid user %s from %s port %d", u, h, p)
	if g.chance(0.3) {
		add(catPreauthClose, "Connection closed by invalid user %s %s port %d [preauth]", u, h, p)
		return ls
	}
	ls = append(ls, sshLine{text: "pam_unix(sshd:auth): check pass; user unknown"})
	add(catPAM, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s", h)
	add(catFailed, "Failed password for invalid user %s from %s port %d ssh2", u, h, p)
	add("", "Received disconnect from %s port %d:11: Bye Bye [preauth]", h, p)
	add(catPreauthClose, "Disconnected from invalid user %s %s port %d [preauth]", u, h, p)
	return ls
}

// scan is a connection that never tries to log in: half from attackers,
// half from benign hosts, none counted by the normal-mode rule.
func scan(g *gen) []sshLine {
	h, p := g.someHost(0.5), sshPort(g)
	one := func(cat, format string) []sshLine {
		return []sshLine{{text: fmt.Sprintf(format, h, p), host: h, category: cat}}
	}
	switch r := g.rng.Float64(); {
	case r < 0.4:
		return one(catPreauthClose, "Connection closed by %s port %d [preauth]")
	case r < 0.7:
		return append([]sshLine{{text: "kex_exchange_identification: Connection closed by remote host"}},
			one("", "Connection closed by %s port %d")...)
	case r < 0.85:
		return one("", "Unable to negotiate with %s port %d: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]")
	}
	return one("", "banner exchange: Connection from %s port %d: invalid format")
}

// login is a legitimate user, who now and then mistypes the password first.
func login(g *gen) []sshLine {
	h, p := g.hosts.benignHost(), sshPort(g)
	ui := g.rng.IntN(len(sshUsers))
	u := sshUsers[ui]
	var ls []sshLine
	if g.chance(0.1) {
		ls = append(ls,
			sshLine{text: fmt.Sprintf("Failed password for %s from %s port %d ssh2", u, h, p), host: h, category: catFailed},
			sshLine{text: fmt.Sprintf("Accepted password for %s from %s port %d ssh2", u, h, p), host: h, category: catAccepted})
	} else {
		ls = append(ls, sshLine{text: fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", u, h, p, g.chars(base58, 43)), host: h, category: catAccepted})
	}
	return append(ls,
		sshLine{text: fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", u, 1000+ui)},
		sshLine{text: fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", h, p), host: h},
		sshLine{text: fmt.Sprintf("Disconnected from user %s %s port %d", u, h, p), host: h},
		sshLine{text: "pam_unix(sshd:session): session closed for user " + u})
}

// hostileSession puts a victim's address into the user name, in the shapes
// that fool a pattern taking the first address of the line. Only the
// attacker, whose address sshd wrote last, may be counted.
func hostileSession(g *gen) []sshLine {
	h, v, p := g.hosts.attacker(), g.hosts.victim(), sshPort(g)
	vp := pick(g, []int{22, 2222, 52311})
	forms := []struct{ text, category string }{
		{fmt.Sprintf("Invalid user %s from %s port %d", v, h, p), catHostileInvalidUser},
		{fmt.Sprintf("Invalid user x from %s port %d from %s port %d", v, vp, h, p), catHostileInvalidUser},
		{fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", v, h, p), catHostileFailed},
		{fmt.Sprintf("Failed password for invalid user x from %s port %d ssh2 from %s port %d ssh2", v, vp, h, p), catHostileFailed},
		{fmt.Sprintf("Failed none for invalid user %s from %s port %d ssh2", v, h, p), catHostileFailed},
		{fmt.Sprintf("Connection closed by invalid user %s %s port %d [preauth]", v, h, p), catHostilePreauthClose},
		{fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", v, h, p), catHostilePreauthClose},
		{fmt.Sprintf("Disconnected from invalid user x %s port %d %s port %d [preauth]", v, vp, h, p), catHostilePreauthClose},
	}
	f := pick(g, forms)
	return []sshLine{{text: f.text, host: h, category: f.category, victim: v}}
}
