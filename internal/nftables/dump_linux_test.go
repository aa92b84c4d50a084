package nftables

import (
	"slices"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// A host set's listing that a resize of the kernel's hash table cut short
// is read again until two listings agree; if none do, every element any of
// them saw is listed.
func TestNetlinkListRereadsTornHostDumps(t *testing.T) {
	a := fakeElem{addr: "10.0.0.1", timeout: time.Hour, expires: time.Hour}
	b := fakeElem{addr: "10.0.0.2", timeout: time.Hour, expires: time.Hour}
	c := fakeElem{addr: "10.0.0.3", timeout: time.Hour, expires: time.Hour}
	base := 0 // element listings of a List with no torn dump
	for _, tt := range []struct {
		name  string
		torn  [][]fakeElem
		reads int
	}{
		{"whole at once", nil, 2},
		{"short first", [][]fakeElem{{a, b}}, 3},
		{"short twice, differently", [][]fakeElem{{a, b}, {b, c}}, 4},
		{"never agree", [][]fakeElem{{a, b}, {b, c}, {a, c}, {a}}, dumpTries},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := newFakeKernel().withSet("j_v4", a, b, c).withSet("j_v6").withSet("j_n4").withSet("j_n6")
			k.torn = map[string][][]fakeElem{"j_v4": tt.torn}
			fw := k.setUp(t, firewall.Jail{Name: "j"})
			k.queries = nil
			els, err := fw.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range els {
				got = append(got, e.Prefix.String())
			}
			if want := []string{"10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"}; !slices.Equal(got, want) {
				t.Errorf("List = %v, want %v", got, want)
			}
			n := 0
			for _, q := range k.queries {
				if q == "GETSETELEM" {
					n++
				}
			}
			// j_v4's extra reads come on top of what the other sets take.
			if tt.torn == nil {
				base = n
			}
			if want := base + tt.reads - 2; n != want {
				t.Errorf("%d element listings, want %d (%v)", n, want, k.queries)
			}
		})
	}
}
