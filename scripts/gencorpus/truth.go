package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// truth collects, per host and category, the times of its lines, and counts
// the lines that name each victim.
type truth struct {
	lines       int
	first, last time.Time
	times       map[string]map[string][]int64 // host → category → Unix ns
	victims     map[string]int
	roles       map[string]string // host → attacker, benign or victim
}

func newTruth() *truth {
	return &truth{times: map[string]map[string][]int64{}, victims: map[string]int{}}
}

func (t *truth) add(l line) {
	if t.lines == 0 {
		t.first = l.at
	}
	t.lines++
	t.last = l.at
	if l.victim != "" {
		t.victims[l.victim]++
	}
	if l.host == "" || l.category == "" {
		return
	}
	cats := t.times[l.host]
	if cats == nil {
		cats = map[string][]int64{}
		t.times[l.host] = cats
	}
	cats[l.category] = append(cats[l.category], l.at.UnixNano())
}

// firstBan is the ground truth's definition of a ban: the first time x at
// which the window (x - findtime, x] holds maxretry of the given times,
// which must be sorted. It also returns the most the window ever holds.
func firstBan(times []int64, findtime time.Duration, maxretry int) (at int64, banned bool, most int) {
	lo := 0
	for i, x := range times {
		for times[lo] <= x-int64(findtime) {
			lo++
		}
		n := i - lo + 1
		most = max(most, n)
		if !banned && n >= maxretry {
			at, banned = x, true
		}
	}
	return at, banned, most
}

type ruleResult struct {
	Matches    int     `json:"matches"`
	MostInTime int     `json:"max_in_findtime"`
	Banned     bool    `json:"banned"`
	FirstBanAt *string `json:"first_ban_at"`
}

type hostEntry struct {
	Role       string                `json:"role"`
	ByCategory map[string]int        `json:"by_category"`
	Rules      map[string]ruleResult `json:"rules"`
}

type summary struct {
	MatchingLines map[string]int      `json:"matching_lines"`
	Banned        map[string][]string `json:"banned"`
	NBanned       map[string]int      `json:"n_banned"`
	HostsWithLine int                 `json:"hosts_with_lines"`
	Victims       []string            `json:"victims_never_ban"`
}

// truthFile is what scripts/bench/compare.py reads: summary.banned per rule
// and summary.victims_never_ban.
type truthFile struct {
	Kind     string               `json:"kind"`
	Seed     uint64               `json:"seed"`
	Lines    int                  `json:"lines"`
	FirstTS  string               `json:"first_ts"`
	LastTS   string               `json:"last_ts"`
	Findtime float64              `json:"findtime_seconds"`
	Maxretry int                  `json:"maxretry"`
	Rules    map[string][]string  `json:"rules"`
	Summary  summary              `json:"summary"`
	Victims  map[string]int       `json:"victims"`
	Hosts    map[string]hostEntry `json:"hosts"`
}

func (t *truth) render(opt options) truthFile {
	rules := kinds[opt.kind].rules
	roles := t.roles
	f := truthFile{
		Kind: opt.kind, Seed: opt.seed, Lines: t.lines,
		FirstTS: t.first.UTC().Format(time.RFC3339Nano), LastTS: t.last.UTC().Format(time.RFC3339Nano),
		Findtime: opt.findtime.Seconds(), Maxretry: opt.maxretry, Rules: rules,
		Summary: summary{MatchingLines: map[string]int{}, Banned: map[string][]string{}, NBanned: map[string]int{},
			HostsWithLine: len(t.times), Victims: []string{}},
		Victims: t.victims, Hosts: map[string]hostEntry{},
	}
	for rule := range rules {
		f.Summary.Banned[rule] = []string{}
	}
	for host, cats := range t.times {
		e := hostEntry{Role: roles[host], ByCategory: map[string]int{}, Rules: map[string]ruleResult{}}
		for c, ts := range cats {
			e.ByCategory[c] = len(ts)
		}
		for rule, counted := range rules {
			var ts []int64
			for _, c := range counted {
				ts = append(ts, cats[c]...)
			}
			slices.Sort(ts)
			at, banned, most := firstBan(ts, opt.findtime, opt.maxretry)
			r := ruleResult{Matches: len(ts), MostInTime: most, Banned: banned}
			if banned {
				s := time.Unix(0, at).UTC().Format(time.RFC3339Nano)
				r.FirstBanAt = &s
				f.Summary.Banned[rule] = append(f.Summary.Banned[rule], host)
			}
			f.Summary.MatchingLines[rule] += len(ts)
			e.Rules[rule] = r
		}
		f.Hosts[host] = e
	}
	for rule, hs := range f.Summary.Banned {
		slices.Sort(hs)
		f.Summary.NBanned[rule] = len(hs)
	}
	for v := range t.victims {
		f.Summary.Victims = append(f.Summary.Victims, v)
	}
	slices.Sort(f.Summary.Victims)
	return f
}

func writeTruth(path string, f truthFile) error {
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("encode truth: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}
