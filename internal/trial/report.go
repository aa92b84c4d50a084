package trial

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/peerjail/peerjail/internal/filter"
)

type report struct {
	o   Options
	w   *bufio.Writer
	enc *json.Encoder
}

func newReport(o Options) *report {
	w := bufio.NewWriterSize(o.Out, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &report{o: o, w: w, enc: enc}
}

type matchEvent struct {
	N       int64  `json:"n"`
	Host    string `json:"host"`
	Pattern int    `json:"pattern"`
}

func (r *report) match(n int64, hit filter.Hit) {
	if r.o.JSON {
		r.enc.Encode(matchEvent{n, hit.Host.String(), hit.Rule})
	}
}

type summary struct {
	Filter     string      `json:"filter"`
	Lines      int64       `json:"lines"`
	Matched    int64       `json:"matched"`
	Ignored    int64       `json:"ignored"`
	Missed     int64       `json:"missed"`
	NoHost     int64       `json:"nohost"`
	Unparsed   int64       `json:"unparsed"`
	Hosts      int         `json:"hosts"`
	PerPattern []int64     `json:"per_pattern"`
	TopHosts   []hostCount `json:"top_hosts"`
	Missed10   []string    `json:"missed_samples"`
	Seconds    float64     `json:"seconds"`
	LinesPerS  float64     `json:"lines_per_second"`
}

type hostCount struct {
	Host string `json:"host"`
	Hits int64  `json:"hits"`
}

func (r *report) finish(res *Result) error {
	s := summary{
		Filter: r.o.Spec.Name, Lines: res.Lines, Matched: res.Matched, Ignored: res.Ignored,
		Missed: res.Missed, NoHost: res.NoHost, Unparsed: res.Unparsed, Hosts: len(res.Hosts),
		PerPattern: res.PerPattern, TopHosts: top(res.Hosts, 10), Missed10: res.MissedSamples,
		Seconds: res.Elapsed.Seconds(), LinesPerS: float64(res.Lines) / max(res.Elapsed.Seconds(), 1e-9),
	}
	if r.o.JSON {
		r.enc.Encode(struct {
			Summary summary `json:"summary"`
		}{s})
		return r.w.Flush()
	}
	r.text(s)
	return r.w.Flush()
}

func (r *report) text(s summary) {
	w := r.w
	fmt.Fprintf(w, "Filter %s on %s\n\nPatterns (hits):\n", s.Filter, r.o.Log)
	for i, p := range patterns(r.o.Spec) {
		fmt.Fprintf(w, "  #%d %10d  %s\n", i, s.PerPattern[i], clip(p, 160))
	}
	fmt.Fprintf(w, "\nLines: %d, matched %d, ignored %d, missed %d, no host %d, unparsed %d\n",
		s.Lines, s.Matched, s.Ignored, s.Missed, s.NoHost, s.Unparsed)
	fmt.Fprintf(w, "Distinct hosts: %d\n", s.Hosts)
	if len(s.TopHosts) > 0 {
		fmt.Fprintf(w, "Top hosts:\n")
		for _, h := range s.TopHosts {
			fmt.Fprintf(w, "  %-40s %10d\n", h.Host, h.Hits)
		}
	}
	if len(s.Missed10) > 0 {
		fmt.Fprintf(w, "Missed lines (first %d):\n", len(s.Missed10))
		for _, l := range s.Missed10 {
			fmt.Fprintf(w, "  | %s\n", l)
		}
	}
	fmt.Fprintf(w, "\n%.3f s, %.0f lines/s\n", s.Seconds, s.LinesPerS)
}

func top(hosts map[string]int64, n int) []hostCount {
	all := make([]hostCount, 0, len(hosts))
	for h, c := range hosts {
		all = append(all, hostCount{h, c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Hits != all[j].Hits {
			return all[i].Hits > all[j].Hits
		}
		return all[i].Host < all[j].Host
	})
	return all[:min(n, len(all))]
}
