package main

import (
	"io"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"
)

// kind holds what differs between corpora: the writer and the defaults of
// the ground truth's window.
type kind struct {
	write      func(g *gen)
	rate       float64 // lines per second of log time
	matchShare float64
	findtime   time.Duration
	maxretry   int
	// rules name, per rule of the ground truth, the line categories it counts.
	rules map[string][]string
}

var kinds = map[string]kind{
	// 3m / 90: the jail the libp2p documentation suggests for fail2ban.
	"libp2p": {write: writeLibp2p, rate: 100, matchShare: 0.30, findtime: 3 * time.Minute, maxretry: 90,
		rules: map[string][]string{
			"peer_status":             {catPeerStatus},
			"peer_status+misbehaving": {catPeerStatus, catMisbehaving},
		}},
	"flow": {write: writeFlow, rate: 200, matchShare: 0.10, findtime: 5 * time.Minute, maxretry: 10,
		rules: map[string][]string{"suspicious": {catSuspicious}}},
	// 10m / 5: fail2ban's defaults.
	"sshd": {write: writeSSHD, rate: 50, findtime: 10 * time.Minute, maxretry: 5,
		rules: map[string][]string{
			"sshd_normal":             sshdNormal,
			"sshd_with_preauth_close": append(append([]string(nil), sshdNormal...), catPreauthClose, catHostilePreauthClose),
		}},
}

// gen is one run of the generator: the random stream, the hosts, the log
// clock, the output and the truth being collected.
type gen struct {
	opt   options
	rng   *rand.Rand
	hosts *pool
	now   time.Time // log time of the line being written
	out   io.Writer
	buf   []byte
	truth *truth
	err   error
	// observe, when set, sees every line as it is written (for tests).
	observe func(line)
}

func generate(opt options, w io.Writer) (*truth, error) { return generateObserved(opt, w, nil) }

func generateObserved(opt options, w io.Writer, observe func(line)) (*truth, error) {
	// PCG's output is fixed by its seed, so the corpus depends on nothing else.
	rng := rand.New(rand.NewPCG(opt.seed, 0x7065_6572_6a61_696c))
	g := &gen{opt: opt, rng: rng, now: opt.start, out: w, truth: newTruth(), observe: observe}
	g.hosts = newPool(rng, opt)
	g.truth.roles = g.hosts.roles()
	kinds[opt.kind].write(g)
	return g.truth, g.err
}

// tick advances the log clock by an exponential gap, as independent arrivals
// at the kind's mean rate would.
func (g *gen) tick() {
	gap := g.rng.ExpFloat64() / g.opt.rate
	g.now = g.now.Add(time.Duration(gap * float64(time.Second)))
}

// line is one output line and what the truth learns from it. at is the time
// the line itself carries (the most precise stamp on it), because that is
// all a reader of the log can know; host and category are empty on lines
// that name no offender.
type line struct {
	text     []byte
	at       time.Time
	host     string
	category string
	victim   string
}

func (g *gen) emit(l line) {
	if g.err != nil {
		return
	}
	g.buf = append(append(g.buf[:0], l.text...), '\n')
	if _, err := g.out.Write(g.buf); err != nil {
		g.err = err
	}
	g.truth.add(l)
	if g.observe != nil {
		g.observe(l)
	}
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func (g *gen) chars(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// pool is the population of hosts. Attackers are few and loud (activity
// falls off as 1/rank), benign hosts many and quiet, victims never write a
// line of their own: their addresses appear only where an attacker put them.
type pool struct {
	rng       *rand.Rand
	attackers []string
	benign    []string
	victims   []string
	cumulated []float64 // cumulated attacker weights, ending at 1
}

func newPool(rng *rand.Rand, opt options) *pool {
	p := &pool{rng: rng}
	seen := map[string]bool{}
	fresh := func(v6Share float64) string {
		for {
			var a netip.Addr
			if rng.Float64() < v6Share {
				a = randomV6(rng)
			} else {
				a = randomV4(rng)
			}
			if s := a.String(); !seen[s] {
				seen[s] = true
				return s
			}
		}
	}
	for range opt.attackers {
		p.attackers = append(p.attackers, fresh(opt.v6Share))
	}
	for range opt.benign {
		p.benign = append(p.benign, fresh(opt.v6Share))
	}
	// Victims are IPv4 so that the hostile lines can use the forms sshd and
	// libp2p write IPv4 in.
	for range opt.victims {
		p.victims = append(p.victims, fresh(0))
	}
	sum := 0.0
	for i := range p.attackers {
		sum += 1 / float64(i+1)
	}
	acc := 0.0
	for i := range p.attackers {
		acc += 1 / float64(i+1) / sum
		p.cumulated = append(p.cumulated, acc)
	}
	return p
}

func (p *pool) attacker() string {
	i := sort.SearchFloat64s(p.cumulated, p.rng.Float64())
	return p.attackers[min(i, len(p.attackers)-1)]
}

func (p *pool) benignHost() string { return p.benign[p.rng.IntN(len(p.benign))] }
func (p *pool) victim() string     { return p.victims[p.rng.IntN(len(p.victims))] }

// role names the population a host belongs to, for the truth file.
func (p *pool) roles() map[string]string {
	r := map[string]string{}
	for _, h := range p.attackers {
		r[h] = "attacker"
	}
	for _, h := range p.benign {
		r[h] = "benign"
	}
	for _, h := range p.victims {
		r[h] = "victim"
	}
	return r
}

// Addresses are drawn from global unicast space only: the daemon never bans
// loopback, private or documentation ranges by default, and a corpus full of
// them would measure that instead of the matching.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
}

func randomV4(rng *rand.Rand) netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		public := true
		for _, p := range notPublic {
			if p.Contains(a) {
				public = false
				break
			}
		}
		if public {
			return a
		}
	}
}

// v6Nets are /32s of hosting and access networks; hosts under them look like
// servers (a few low hextets) or SLAAC clients (all eight set).
var v6Nets = [][2]uint16{
	{0x2001, 0x41d0}, {0x2001, 0x0bc8}, {0x2400, 0x8901}, {0x2600, 0x1f18},
	{0x2600, 0x3c00}, {0x2604, 0xa880}, {0x2607, 0x5300}, {0x2a01, 0x04f8},
	{0x2a01, 0x04f9}, {0x2a02, 0xc207}, {0x2a03, 0xb0c0}, {0x2a05, 0xd014},
	{0x2804, 0x14c0}, {0x2409, 0x8a1e}, {0x240e, 0x03b7}, {0x2c0f, 0xf248},
}

func randomV6(rng *rand.Rand) netip.Addr {
	net := v6Nets[rng.IntN(len(v6Nets))]
	var b [16]byte
	put := func(i int, v uint16) { b[2*i], b[2*i+1] = byte(v>>8), byte(v) }
	put(0, net[0])
	put(1, net[1])
	put(2, uint16(rng.IntN(1<<16)))
	put(3, uint16(rng.IntN(1<<16)))
	if rng.IntN(2) == 0 {
		put(7, uint16(1+rng.IntN(255)))
	} else {
		for i := 4; i < 8; i++ {
			put(i, uint16(rng.IntN(1<<16)))
		}
	}
	return netip.AddrFrom16(b)
}

// hostPort writes an address with a port the way Go's net.JoinHostPort does.
func hostPort(host string, port int) string {
	if isV6(host) {
		return "[" + host + "]:" + itoa(port)
	}
	return host + ":" + itoa(port)
}

func isV6(host string) bool {
	for i := 0; i < len(host); i++ {
		if host[i] == ':' {
			return true
		}
	}
	return false
}
