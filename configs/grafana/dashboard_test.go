// Package grafana holds peerjail's Grafana dashboard; its test checks the
// fields of Grafana's dashboard schema that the dashboard uses.
package grafana

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
)

// dashboard is the part of Grafana's dashboard model (schemaVersion 39,
// grafana/grafana kinds/dashboard) that peerjail.json uses.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Time struct{ From, To string } `json:"time"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct{ Type, UID string }

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("peerjail.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("peerjail.json: %v", err)
	}
	return d
}

// The panel types of Grafana's core plugins that the dashboard may use.
var panelTypes = []string{"stat", "timeseries", "table", "gauge", "bargauge"}

// Grafana's own variables, substituted without a templating entry.
var builtins = []string{"__rate_interval", "__interval", "__range"}

var varRef = regexp.MustCompile(`\$\{?(\w+)`)

func TestDashboardSchema(t *testing.T) {
	d := load(t)
	if d.UID == "" || len(d.UID) > 40 || d.Title == "" {
		t.Errorf("uid %q, title %q: want both, uid at most 40 characters", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (datasource references by uid)", d.SchemaVersion)
	}
	if d.Time.From == "" || d.Time.To == "" {
		t.Error("no time range")
	}
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds, ok := vars["datasource"]
	if !ok || ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
		t.Fatalf("templating: want a variable datasource of type datasource for prometheus, got %+v", ds)
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
			t.Errorf("variable %s queries %+v, want the datasource variable", v.Name, v.Datasource)
		}
	}
	ids := map[int]bool{}
	var queries int
	for _, p := range d.Panels {
		if p.ID <= 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if !slices.Contains(panelTypes, p.Type) || p.Title == "" {
			t.Errorf("panel %d: type %q title %q", p.ID, p.Type, p.Title)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v outside Grafana's 24 columns", p.Title, g)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the datasource variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.RefID == "" || refs[tg.RefID] || tg.Expr == "" {
				t.Errorf("panel %q: target refId %q (repeated: %v) expr %q", p.Title, tg.RefID, refs[tg.RefID], tg.Expr)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q target %s: datasource %+v, want the datasource variable", p.Title, tg.RefID, tg.Datasource)
			}
			for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
				if _, ok := vars[m[1]]; !ok && !slices.Contains(builtins, m[1]) {
					t.Errorf("panel %q target %s uses $%s, which the templating does not define", p.Title, tg.RefID, m[1])
				}
			}
		}
	}
	overlaps(t, d.Panels)
	t.Logf("%d panels, %d queries", len(d.Panels), queries)
}

// overlaps fails for two panels that cover the same grid cell: Grafana
// would push one down, and the layout would not be the one written.
func overlaps(t *testing.T, ps []panel) {
	t.Helper()
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			ga, gb := a.GridPos, b.GridPos
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}
}
