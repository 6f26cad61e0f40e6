package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// ErrNoDRA: a request a DRA pool cannot serve: a share or vGPU cards (the
// driver publishes no consumable capacity), another vendor's cards, or a
// type with no product pattern to select its devices by.
var ErrNoDRA = errors.New("not possible with DRA")

// Limits of resource.k8s.io/v1 on one claim.
const (
	// MaxDRADevices: the devices of one allocation (AllocationResultsMaxSize).
	MaxDRADevices = 32
	// MaxDRAAlternatives: the subrequests of a prioritized list
	// (FirstAvailableDeviceRequestMaxSize).
	MaxDRAAlternatives = 8
	// MaxSelectorLen: the length of a CEL selector
	// (CELSelectorExpressionMaxLength).
	MaxSelectorLen = 10 * 1024
)

// DRAClaim is a request in the DRA form: the one device request of a
// ResourceClaim. With one alternative it is an exact request; with several
// it is a prioritized list (firstAvailable) in the written order, so that
// all of a pod's cards are of one type, the first the scheduler can give.
type DRAClaim struct {
	// Alternatives are the devices asked, in preference order.
	Alternatives []DRADevices
}

// DRADevices is Count devices of DeviceClass that Selector admits.
type DRADevices struct {
	// Name is a DNS label naming the alternative: the type's name in lower
	// case ("v100", "a100-40gb"), or "gpu" when the request names no type.
	Name string
	// Type is the catalog type asked; "" for any.
	Type string
	// DeviceClass is the pool's DeviceClass.
	DeviceClass string
	// Selector is a CEL expression admitting the type's devices (see
	// TypeSelector); "" for any device of the class.
	Selector string
	// Count is the number of devices.
	Count int
}

// DRAForm turns a resolved request into the DRA form of a pool with d. Only
// whole cards of the default vendor have one; "0" has none (the zero
// DRAClaim: no claim).
func (c *Catalog) DRAForm(r Resolved, d DRA) (DRAClaim, error) {
	switch {
	case r.Kind == KindNone:
		return DRAClaim{}, nil
	case r.Kind == KindShare || r.Kind == KindVGPU:
		return DRAClaim{}, c.noDRA(r, "a share of a card, or vGPU cards, on a DRA pool",
			fmt.Sprintf("the DRA driver of this pool (%s) publishes no capacity that several claims could share; ask whole cards, e.g. %s", d.DeviceClass, wholeOf(r)))
	case r.Vendor == nil || !r.Vendor.Default:
		return DRAClaim{}, c.noDRA(r, "cards of another vendor than the default one on a DRA pool",
			fmt.Sprintf("the pool's DeviceClass %s gives %s cards", d.DeviceClass, c.DefaultVendor().Name))
	}
	switch {
	case r.Count > MaxDRADevices:
		return DRAClaim{}, c.noDRA(r, fmt.Sprintf("%d cards in one claim", r.Count),
			fmt.Sprintf("a ResourceClaim holds at most %d devices; ask at most %d", MaxDRADevices, MaxDRADevices))
	case len(r.Types) > MaxDRAAlternatives:
		return DRAClaim{}, c.noDRA(r, fmt.Sprintf("%d alternative types", len(r.Types)),
			fmt.Sprintf("a prioritized list holds at most %d; name at most %d types", MaxDRAAlternatives, MaxDRAAlternatives))
	}
	if len(r.Types) == 0 {
		return DRAClaim{Alternatives: []DRADevices{{Name: "gpu", DeviceClass: d.DeviceClass, Count: r.Count}}}, nil
	}
	out := DRAClaim{Alternatives: make([]DRADevices, 0, len(r.Types))}
	used := map[string]bool{}
	for i, name := range r.Types {
		sel, err := c.TypeSelector(name, d)
		if err != nil {
			return DRAClaim{}, c.noDRA(r, "type "+name+" on a DRA pool", err.Error())
		}
		n := subrequestName(name)
		if used[n] {
			n = "type-" + strconv.Itoa(i)
		}
		used[n] = true
		out.Alternatives = append(out.Alternatives, DRADevices{Name: n, Type: name, DeviceClass: d.DeviceClass, Selector: sel, Count: r.Count})
	}
	return out, nil
}

func (c *Catalog) noDRA(r Resolved, what, hint string) error {
	s := r.String()
	return &gpuspec.Error{Input: s, Err: ErrNoDRA, Msg: what + " is not possible", Hint: hint}
}

// wholeOf is the whole-card request nearest a share: one card of its types.
func wholeOf(r Resolved) string {
	if len(r.Types) == 0 {
		return "1"
	}
	return "1(" + strings.Join(r.Types, "|") + ")"
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// subrequestName is a DNS label for a type's alternative.
func subrequestName(typ string) string {
	n := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(typ), "-"), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	if n == "" {
		return "type"
	}
	return n
}

// TypeSelector returns the CEL expression that admits the devices of a
// catalog type: those whose type attribute (see DRA.TypeAttribute) the
// catalog would match to this type, i.e. that match one of its product
// patterns and no more specific pattern of another type that could match
// the same name. Patterns become anchored case-insensitive RE2 expressions
// ('*' is ".*", '?' is "."). A type without product patterns has no
// selector: its devices cannot be told apart.
func (c *Catalog) TypeSelector(typ string, d DRA) (string, error) {
	t, ok := c.Type(typ)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownName, typ)
	}
	if len(t.Products) == 0 {
		return "", fmt.Errorf("type %s has no product pattern, so no device attribute %s names it; give it one in the catalog (products), or ask another type", t.Name, d.TypeAttribute)
	}
	domain, name := d.AttributeDomain()
	attr := "device.attributes[" + strconv.Quote(domain) + "][" + strconv.Quote(name) + "]"
	ti, _ := lookup(c.idx.names, t.Name)
	var terms []string
	for i, p := range c.idx.products {
		if p.typ != ti {
			continue
		}
		term := attr + ".matches(" + strconv.Quote(globRegexp(p.pattern)) + ")"
		// Only a pattern sorted before p takes a name from p.
		for _, q := range c.idx.products[:i] {
			if q.typ != ti && globsOverlap(p.pattern, q.pattern) {
				term += " && !" + attr + ".matches(" + strconv.Quote(globRegexp(q.pattern)) + ")"
			}
		}
		terms = append(terms, term)
	}
	expr := terms[0]
	if len(terms) > 1 {
		expr = "(" + strings.Join(terms, ") || (") + ")"
	}
	// A device without the attribute is not of the type, rather than an
	// error that would fail the whole allocation.
	expr = strconv.Quote(name) + " in device.attributes[" + strconv.Quote(domain) + "] && (" + expr + ")"
	if len(expr) > MaxSelectorLen {
		return "", fmt.Errorf("the selector of type %s is %d characters, more than the %d a DeviceClass selector may hold; give the type fewer product patterns", t.Name, len(expr), MaxSelectorLen)
	}
	return expr, nil
}

// globRegexp turns an upper-cased product pattern into an anchored,
// case-insensitive RE2 expression.
func globRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString("(?i)^")
	lit := 0
	flush := func(i int) {
		b.WriteString(regexp.QuoteMeta(pattern[lit:i]))
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*':
			flush(i)
			b.WriteString(".*")
			lit = i + 1
		case '?':
			flush(i)
			b.WriteString(".")
			lit = i + 1
		}
	}
	flush(len(pattern))
	b.WriteString("$")
	return b.String()
}

// globsOverlap reports whether some name matches both upper-cased
// patterns: a search of the pairs of positions the two patterns can be in
// after the same characters.
func globsOverlap(p, q string) bool {
	type state struct{ i, j int }
	seen := map[state]bool{}
	stack := []state{{0, 0}}
	push := func(s state) {
		if !seen[s] {
			seen[s] = true
			stack = append(stack, s)
		}
	}
	seen[state{0, 0}] = true
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.i == len(p) && s.j == len(q) {
			return true
		}
		// A '*' may match nothing.
		if s.i < len(p) && p[s.i] == '*' {
			push(state{s.i + 1, s.j})
		}
		if s.j < len(q) && q[s.j] == '*' {
			push(state{s.i, s.j + 1})
		}
		if s.i == len(p) || s.j == len(q) {
			continue
		}
		// One character, taken by both.
		a, b := p[s.i], q[s.j]
		if a != '*' && a != '?' && b != '*' && b != '?' && a != b {
			continue
		}
		ni, nj := s.i+1, s.j+1
		if a == '*' {
			ni = s.i
		}
		if b == '*' {
			nj = s.j
		}
		push(state{ni, nj})
	}
	return false
}
