package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/source"
)

// newGroup returns the group read by the given jails (indexes into js; nil
// means all of js).
func newGroup(name string, idx []int, js []*replayJail) *group {
	g := &group{name: name, jails: idx}
	members := js
	if idx != nil {
		members = make([]*replayJail, len(idx))
		for i, j := range idx {
			members[i] = js[j]
		}
	}
	for i, j := range members {
		if i == 0 {
			g.pattern = j.cfg.DatePattern
		} else if j.cfg.DatePattern != g.pattern {
			g.pattern = ""
		}
		g.skew = max(g.skew, j.lane.MaxClockSkew)
	}
	if g.skew <= 0 {
		g.skew = time.Minute
	}
	return g
}

// openLogs opens the logs of the command line, all read by every jail.
func openLogs(ctx context.Context, g *group, logs []string, w window) ([]*cursor, error) {
	keyed := len(logs) > 1 || !w.open()
	var out []*cursor
	for i, p := range logs {
		c, err := openFile(ctx, p, i, g, keyed, w)
		if err != nil {
			for _, c := range out {
				c.close()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// plan is one configured input to open: a file, or a journal's matches.
type plan struct {
	g       *group
	path    string
	matches []string
	fields  bool
}

// openConfigured opens the jails' configured sources. Jails with the same
// source (the same globs, or the same matches) share one group, as in the
// daemon. It returns the jails that take part, in their order.
func openConfigured(ctx context.Context, js []*replayJail, o Options, w window) ([]*replayJail, []*group, []*cursor, error) {
	type key struct {
		journal bool
		what    string
	}
	var kept []*replayJail
	var keys []key
	members := map[key][]int{}
	first := map[key]*replayJail{}
	for _, j := range js {
		var ks []key
		if o.ConfiguredFiles && len(j.cfg.Files) > 0 {
			if len(j.cfg.Files) == 1 && j.cfg.Files[0] == "-" {
				fmt.Fprintf(o.Warn, "peerjail: replay: jail %q reads standard input: give its log on the command line\n", j.cfg.Name)
			} else {
				ks = append(ks, key{false, strings.Join(j.cfg.Files, ",")})
			}
		}
		if o.ConfiguredJournal && len(j.cfg.Journal) > 0 {
			ks = append(ks, key{true, strings.Join(j.cfg.Journal, "+")})
		}
		if len(ks) == 0 {
			if j.cfg.Recidive != nil {
				kept = append(kept, j) // it counts bans, fed by the engine
			}
			continue
		}
		for _, k := range ks {
			if _, ok := members[k]; !ok {
				keys = append(keys, k)
				first[k] = j
			}
			members[k] = append(members[k], len(kept))
		}
		kept = append(kept, j)
	}
	if len(keys) == 0 {
		what := "files: or journal:"
		switch {
		case !o.ConfiguredJournal:
			what = "files:"
		case !o.ConfiguredFiles:
			what = "journal:"
		}
		return nil, nil, nil, fmt.Errorf("%w: no jail of %s has a %s source", ErrNoSource, o.Config.Path, what)
	}
	var groups []*group
	var plans []plan
	for _, k := range keys {
		j := first[k]
		if !k.journal {
			g := newGroup("files:"+k.what, members[k], kept)
			groups = append(groups, g)
			paths, err := withRotated(j.cfg.Files, w)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("jail %q: %w", j.cfg.Name, err)
			}
			if len(paths) == 0 && len(source.UnmatchedGlobs(j.cfg.Files)) == len(j.cfg.Files) {
				fmt.Fprintf(o.Warn, "peerjail: replay: jail %q: files: %s match no file\n", j.cfg.Name, strings.Join(j.cfg.Files, " "))
			}
			for _, p := range paths {
				plans = append(plans, plan{g: g, path: p})
			}
			continue
		}
		g := newGroup("journal:"+k.what, members[k], kept)
		g.ref = time.Now()
		if !w.until.IsZero() {
			g.ref = w.until
		}
		groups = append(groups, g)
		fields := false
		for _, i := range members[k] {
			fields = fields || needsFields(kept[i].cfg.Filter)
		}
		plans = append(plans, plan{g: g, matches: j.cfg.Journal, fields: fields})
	}
	keyed := len(plans) > 1 || !w.open()
	var cursors []*cursor
	fail := func(err error) ([]*replayJail, []*group, []*cursor, error) {
		for _, c := range cursors {
			c.close()
		}
		return nil, nil, nil, err
	}
	for i, p := range plans {
		var c *cursor
		var err error
		if p.matches != nil {
			c, err = openJournal(ctx, i, p.g, source.JournalRangeOptions{
				Matches: p.matches, Dir: o.JournalDir, Files: o.JournalFiles,
				Since: w.since, Until: w.until, Fields: p.fields,
			})
		} else {
			c, err = openFile(ctx, p.path, i, p.g, keyed, w)
		}
		if err != nil {
			if ctx.Err() != nil || p.matches != nil {
				return fail(err)
			}
			// A rotated file removed since the glob was read: the others
			// are still worth replaying.
			fmt.Fprintf(o.Warn, "peerjail: replay: %v (going on with the other inputs)\n", err)
			continue
		}
		cursors = append(cursors, c)
	}
	return kept, groups, cursors, nil
}

// openJournal opens a journal's entries in the window as a merge input.
func openJournal(ctx context.Context, order int, g *group, o source.JournalRangeOptions) (*cursor, error) {
	jr, err := source.OpenJournalRange(o)
	if err != nil {
		return nil, err
	}
	c := &cursor{order: order, grp: g, name: g.name, offset: func() int64 { return 0 }, close: jr.Close}
	n := 0
	c.read = func() error {
		// Reading the journal never blocks: asking now and then is what
		// makes Ctrl-C stop it.
		if n++; n%64 == 1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		l, err := jr.Next()
		if err != nil {
			return err
		}
		c.cur, c.bad, c.key = l, l.Oversized, l.Time
		return nil
	}
	return c, nil
}

// rotated matches the suffixes logrotate gives a file's older versions:
// .1, .2.gz, and with dateext -20261201 or -2026120108, maybe .gz.
var rotated = regexp.MustCompile(`^(?:\.\d+|-\d{8}(?:\d{2})?)(?:\.gz)?$`)

// withRotated expands globs to the regular files they match now, each
// followed by its rotated siblings; files last written before w.since
// hold no line of the window and are left out.
func withRotated(globs []string, w window) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || w.before(st.ModTime()) {
			return
		}
		out = append(out, p)
	}
	for _, g := range globs {
		matches, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("files: %s: %w", g, err)
		}
		for _, p := range matches {
			add(p)
			for _, sep := range []string{".", "-"} {
				sibs, _ := filepath.Glob(escapeGlob(p) + sep + "[0-9]*")
				for _, s := range sibs {
					if rotated.MatchString(s[len(p):]) {
						add(s)
					}
				}
			}
		}
	}
	return out, nil
}

func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// needsFields reports whether a filter tests journald fields besides the
// message, which makes reading each entry dearer (as the daemon decides).
func needsFields(s filter.Spec) bool {
	if s.JSON == nil {
		return false
	}
	for _, c := range s.JSON.Match {
		if strings.HasPrefix(c.Path, "journal.") {
			return true
		}
	}
	return false
}
