package catalog

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// defaultYAML is the built-in catalog, read through the same strict loader
// as any file, so the shipped default is also the format's example. A
// string, so that nothing can change it.
//
//go:embed default.yaml
var defaultYAML string

// DefaultYAML returns the built-in catalog file, e.g. to start a custom one.
func DefaultYAML() []byte { return []byte(defaultYAML) }

// Default returns the built-in catalog, a fresh copy on every call.
func Default() *Catalog {
	b, err := builtin()
	if err != nil {
		// The embedded file is tested; failing here is a build defect.
		panic(err)
	}
	c := b.clone()
	c.idx = b.idx // read-only, and it indexes equal slices
	return c
}

// builtin returns the embedded catalog, loaded once: it is never handed
// out (Default clones it), so sharing it is safe. It must be complete, as
// nothing fills its gaps.
var builtin = sync.OnceValues(func() (*Catalog, error) {
	c, err := load(strings.NewReader(defaultYAML), nil)
	if err != nil {
		return nil, fmt.Errorf("built-in GPU catalog: %w", err)
	}
	return c, nil
})
