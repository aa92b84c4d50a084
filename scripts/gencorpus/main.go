// Command gencorpus writes the synthetic logs that scripts/bench.sh and
// scripts/daemon-bench.sh replay, and the ground truth their results are
// checked against. The same flags and seed always give the same bytes, so a
// figure can be reproduced from its command line alone.
//
//	go run ./scripts/gencorpus -kind sshd -lines 1000000 -out sshd.log -truth sshd.truth.json
//
// Kinds: libp2p (go-libp2p canonical-log lines in zap console format behind a
// syslog prefix), flow (flow-go zerolog JSON), sshd (OpenSSH auth.log). Each
// mixes offending lines with noise that names the same addresses and with
// hostile lines that name a victim's address in text the attacker controls.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// defaultStart is 2024-07-27T00:00:00Z: a fixed date keeps corpora
// byte-identical between runs and machines.
const defaultStart = 1722038400

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	opt, err := parseFlags(args)
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if opt.out != "-" {
		f, err := os.Create(opt.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	t, err := generate(opt, bw)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", opt.out, err)
	}
	if opt.out != "-" {
		if err := w.(*os.File).Close(); err != nil {
			return fmt.Errorf("write %s: %w", opt.out, err)
		}
	}
	if opt.truth == "" {
		return nil
	}
	return writeTruth(opt.truth, t.render(opt))
}

// options are the generator's knobs; zero values of the optional ones are
// replaced by the kind's defaults in parseFlags.
type options struct {
	kind, out, truth, format string
	lines                    int
	seed                     uint64
	start                    time.Time
	rate                     float64
	attackers, benign        int
	victims                  int
	v6Share                  float64
	matchShare, attackShare  float64
	misbehavingShare         float64
	hostileShare, otherShare float64
	findtime                 time.Duration
	maxretry                 int
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gencorpus", flag.ContinueOnError)
	fs.StringVar(&o.kind, "kind", "", "libp2p, flow or sshd (required)")
	fs.IntVar(&o.lines, "lines", 0, "number of lines (required)")
	fs.StringVar(&o.out, "out", "-", "output file, - for standard output")
	fs.StringVar(&o.truth, "truth", "", "write the ground truth (JSON) to this file")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.StringVar(&o.format, "format", "syslog", "libp2p: syslog (whole line) or message (the journald MESSAGE only, for systemd-cat)")
	start := fs.String("start", "", "first timestamp: epoch seconds, RFC 3339, now or now-SECONDS (default 2024-07-27T00:00:00Z)")
	fs.Float64Var(&o.rate, "rate", 0, "mean lines per second of log time (default: libp2p 100, flow 200, sshd 50)")
	fs.IntVar(&o.attackers, "attackers", 20, "attacking hosts (Zipf-distributed activity)")
	fs.IntVar(&o.benign, "benign", 20000, "benign hosts")
	fs.IntVar(&o.victims, "victims", 5, "victim addresses, named only in attacker-controlled text")
	fs.Float64Var(&o.v6Share, "v6-share", 0.25, "share of IPv6 hosts among attackers and benign hosts")
	fs.Float64Var(&o.matchShare, "match-share", -1, "libp2p, flow: share of canonical / suspicious lines (default 0.30 / 0.10)")
	fs.Float64Var(&o.attackShare, "attack-share", 0.5, "share of those lines that come from attackers")
	fs.Float64Var(&o.misbehavingShare, "misbehaving-share", 0.10, "libp2p: share of canonical lines that are CANONICAL_MISBEHAVING_PEER")
	fs.Float64Var(&o.hostileShare, "hostile-share", 0.002, "sshd: share of sessions with a victim's address in the user name; flow: share of decoy lines; libp2p: fifty times this share of misbehaving lines name a victim in err=")
	fs.Float64Var(&o.otherShare, "other-share", 0.15, "sshd: share of other programs' lines (cron, sudo, logind)")
	fs.DurationVar(&o.findtime, "findtime", 0, "findtime of the ground truth (default: libp2p 3m, flow 5m, sshd 10m)")
	fs.IntVar(&o.maxretry, "maxretry", 0, "maxretry of the ground truth (default: libp2p 90, flow 10, sshd 5)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	k, ok := kinds[o.kind]
	if !ok {
		return o, fmt.Errorf("-kind: %q is not one of libp2p, flow, sshd", o.kind)
	}
	if o.lines <= 0 {
		return o, errors.New("-lines: a positive number of lines is required")
	}
	if o.format != "syslog" && o.format != "message" {
		return o, fmt.Errorf("-format: %q is not syslog or message", o.format)
	}
	if o.attackers < 1 || o.benign < 1 || o.victims < 1 {
		return o, errors.New("-attackers, -benign and -victims must be at least 1")
	}
	var err error
	if o.start, err = parseStart(*start, time.Now()); err != nil {
		return o, err
	}
	if o.rate <= 0 {
		o.rate = k.rate
	}
	if o.matchShare < 0 {
		o.matchShare = k.matchShare
	}
	if o.findtime <= 0 {
		o.findtime = k.findtime
	}
	if o.maxretry <= 0 {
		o.maxretry = k.maxretry
	}
	return o, nil
}

// parseStart reads -start; now is passed in so that tests need no clock.
func parseStart(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "":
		return time.Unix(defaultStart, 0).UTC(), nil
	case strings.HasPrefix(s, "now"):
		off := int64(0)
		if rest := s[len("now"):]; rest != "" {
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("-start: %q is not now, now-SECONDS or now+SECONDS", s)
			}
			off = n
		}
		return time.Unix(now.Unix()+off, 0).UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-start: %q is not epoch seconds, RFC 3339 or now-SECONDS", s)
	}
	return t.UTC(), nil
}
