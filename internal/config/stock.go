package config

import (
	"embed"
	"fmt"
	"maps"
	"path"
	"strings"
	"sync"

	"github.com/peerjail/peerjail/internal/filter"
)

// The stock filters ship inside the binary, so that a jail can name one
// without any file besides its own config.
//
//go:embed stock/*.yaml
var stockFS embed.FS

var loadStock = sync.OnceValues(func() (map[string]filter.Spec, error) {
	entries, err := stockFS.ReadDir("stock")
	if err != nil {
		return nil, err
	}
	out := make(map[string]filter.Spec, len(entries))
	for _, e := range entries {
		file := path.Join("stock", e.Name())
		data, err := stockFS.ReadFile(file)
		if err != nil {
			return nil, err
		}
		root, err := decode(file, data)
		if err != nil {
			return nil, err
		}
		spec, err := parseFilterBody(file, root)
		if err != nil {
			return nil, fmt.Errorf("stock filter: %w", err)
		}
		out[strings.TrimSuffix(e.Name(), ".yaml")] = spec
	}
	return out, nil
})

// StockFilters returns the embedded stock filters by name. A broken stock
// filter is a build defect; the tests catch it.
func StockFilters() (map[string]filter.Spec, error) {
	m, err := loadStock()
	if err != nil {
		return nil, err
	}
	return maps.Clone(m), nil
}
