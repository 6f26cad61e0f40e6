package catalog

import (
	"slices"
	"strings"
)

// product is an indexed product-name pattern.
type product struct {
	pattern  string // upper-cased, trimmed
	literals int    // characters other than '*' and '?'
	stars    int
	typ      int // Types index
	order    int // position in the catalog, the last tie-breaker
}

func newProduct(p string, typ int) product {
	p = strings.ToUpper(strings.TrimSpace(p))
	stars := strings.Count(p, "*")
	return product{pattern: p, literals: len(p) - stars - strings.Count(p, "?"), stars: stars, typ: typ}
}

// sortProducts puts the most specific patterns first: most literal
// characters, then fewest '*', then catalog order. "Tesla V100*16GB*" thus
// beats "Tesla V100*" for "Tesla V100-SXM2-16GB".
func sortProducts(ps []product) {
	for i := range ps {
		ps[i].order = i
	}
	slices.SortStableFunc(ps, func(a, b product) int {
		if a.literals != b.literals {
			return b.literals - a.literals
		}
		if a.stars != b.stars {
			return a.stars - b.stars
		}
		return a.order - b.order
	})
}

// MatchProduct returns the type whose product pattern matches a product
// name as the driver reports it ("Tesla V100-SXM2-32GB", "NVIDIA H100 80GB
// HBM3"); the most specific matching pattern wins. Case and surrounding
// spaces are ignored.
func (c *Catalog) MatchProduct(name string) (*Type, bool) {
	name = strings.TrimSpace(name)
	for i := range c.idx.products {
		p := &c.idx.products[i]
		if globFold(p.pattern, name) {
			return &c.Types[p.typ], true
		}
	}
	return nil, false
}

// globFold matches name against an upper-cased pattern of literal bytes,
// '*' (any run) and '?' (one byte), ignoring ASCII case in name. It
// backtracks only to the last '*', so it is linear in practice and never
// worse than len(pattern)*len(name).
func globFold(pattern, name string) bool {
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				p++
				n++
				continue
			default:
				if c == upper(name[n]) {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// patternProblem checks a product pattern.
func patternProblem(p string) string {
	t := strings.TrimSpace(p)
	switch {
	case t == "":
		return "a pattern is empty"
	case strings.Trim(t, "*?") == "":
		return "a pattern of wildcards alone would match every card; include the product name, e.g. Tesla T4*"
	case len(t) > 256:
		return "a pattern is longer than 256 characters"
	}
	for i := 0; i < len(t); i++ {
		if t[i] < ' ' || t[i] > '~' {
			return "a pattern holds printable ASCII only, as product names do"
		}
	}
	return ""
}
