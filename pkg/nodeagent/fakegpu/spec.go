package fakegpu

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// ErrBadSpec is wrapped by every error about a fake-device description.
var ErrBadSpec = errors.New("bad fake-device description")

// Limits of a description; no server holds more cards.
const (
	maxCards        = 64
	maxTemperatureC = 150
	maxPowerW       = 2000
)

// Card describes one or more identical fake cards. Zero readings take the
// defaults of Readings.
type Card struct {
	// Type is a catalog type name or alias (V100, t4, V100M16).
	Type string `json:"type,omitempty"`
	// Product is the product name NVML reports; default: one made from the
	// type's first product pattern (Tesla V100*16GB* -> Tesla V100-16GB).
	// Setting it without Type tests product matching itself, unknown names
	// included.
	Product string `json:"product,omitempty"`
	// Count is how many such cards; default 1.
	Count int `json:"count,omitempty"`
	// MemoryMiB is each card's memory; default the type's memory.
	MemoryMiB int64 `json:"memoryMiB,omitempty"`
	// UtilizationPercent is the GPU utilisation, 0..100; default 0.
	UtilizationPercent *float64 `json:"utilization,omitempty"`
	// MemoryUsedMiB defaults to the utilisation's share of the memory.
	MemoryUsedMiB *int64 `json:"memoryUsedMiB,omitempty"`
	// TemperatureC defaults to 30 + utilisation/2.
	TemperatureC *float64 `json:"temperatureC,omitempty"`
	// PowerW defaults to 50 + 2.5 * utilisation.
	PowerW *float64 `json:"powerW,omitempty"`
	// MIG puts each card in MIG mode with these instances, by profile
	// name as the catalog lists them for the type ("3g.40gb",
	// "1g.10gb+me"); an empty list is MIG mode without instances. Absent:
	// MIG mode off.
	MIG *[]string `json:"mig,omitempty"`
}

// IsFile reports whether a --fake-devices value names a file rather than
// being a spec: it holds a path separator or ends in .yaml, .yml or .json.
// The rule is syntactic so that a stray file named like a spec cannot
// change what a spec means.
func IsFile(arg string) bool {
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return strings.ContainsRune(arg, os.PathSeparator) || strings.ContainsRune(arg, '/')
}

// Load reads a --fake-devices value: a file (see IsFile) or a spec.
func Load(arg string) ([]Card, error) {
	if !IsFile(arg) {
		return ParseSpec(arg)
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %q: %w", ErrBadSpec, arg, err)
	}
	cards, err := ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", arg, err)
	}
	return cards, nil
}

// ParseFile parses a YAML or JSON list of Card, refusing unknown fields.
func ParseFile(b []byte) ([]Card, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty; want a list such as [{type: V100, count: 8}]", ErrBadSpec)
	}
	var cards []Card
	if err := yaml.UnmarshalStrict(b, &cards); err != nil {
		return nil, fmt.Errorf("%w: %w; want a list such as [{type: V100, count: 8, utilization: 30}]", ErrBadSpec, err)
	}
	for i := range cards {
		if cards[i].Count == 0 {
			cards[i].Count = 1
		}
	}
	if err := validate(cards); err != nil {
		return nil, err
	}
	return cards, nil
}

// ParseSpec parses the short form: comma-separated groups
// "[N x]TYPE[(P1|P2|...)][@U%]", e.g. "8xV100", "8xV100@30%",
// "4xV100,2xT4@50%". Profiles in parentheses put each card of the group
// in MIG mode with those instances: "2xA100(3g.40gb|2g.20gb|1g.10gb)";
// "A100()" is MIG mode without instances. Spaces are ignored.
func ParseSpec(s string) ([]Card, error) {
	compact := strings.Join(strings.Fields(s), "")
	if compact == "" {
		return nil, fmt.Errorf("%w: empty; want e.g. \"8xV100\" or \"4xV100,2xT4@50%%\"", ErrBadSpec)
	}
	var cards []Card
	for _, group := range strings.Split(compact, ",") {
		c, err := parseGroup(group)
		if err != nil {
			return nil, fmt.Errorf("%w: %q in %q: %s; want [N x]TYPE[(MIG profiles)][@U%%], e.g. 8xV100@30%% or 2xA100(3g.40gb|1g.10gb)", ErrBadSpec, group, s, err)
		}
		cards = append(cards, c)
	}
	if err := validate(cards); err != nil {
		return nil, err
	}
	return cards, nil
}

func parseGroup(g string) (Card, error) {
	c := Card{Count: 1}
	if at := strings.IndexByte(g, '@'); at >= 0 {
		u, err := strconv.ParseFloat(strings.TrimSuffix(g[at+1:], "%"), 64)
		if err != nil || math.IsNaN(u) {
			return c, errors.New("utilisation is not a number")
		}
		c.UtilizationPercent = &u
		g = g[:at]
	}
	if x := strings.IndexAny(g, "xX×"); x > 0 {
		if n, err := strconv.Atoi(g[:x]); err == nil {
			c.Count = n
			_, size := firstRune(g[x:])
			g = g[x+size:]
		}
	}
	if open := strings.IndexByte(g, '('); open >= 0 {
		if !strings.HasSuffix(g, ")") {
			return c, errors.New("MIG profiles are closed by \")\"")
		}
		profiles := []string{}
		if inner := g[open+1 : len(g)-1]; inner != "" {
			profiles = strings.Split(inner, "|")
		}
		for _, p := range profiles {
			if p == "" || strings.ContainsAny(p, "()") {
				return c, fmt.Errorf("MIG profiles %q: write them as 3g.40gb|1g.10gb", g[open:])
			}
		}
		c.MIG = &profiles
		g = g[:open]
	}
	if g == "" {
		return c, errors.New("no type")
	}
	for _, r := range g {
		if !(r == '-' || r == '_' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return c, fmt.Errorf("type %q holds %q", g, r)
		}
	}
	c.Type = g
	return c, nil
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func validate(cards []Card) error {
	if len(cards) == 0 {
		return fmt.Errorf("%w: no cards described", ErrBadSpec)
	}
	total := 0
	for i, c := range cards {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: entry %d (%s): %s", ErrBadSpec, i+1, c.name(), fmt.Sprintf(format, args...))
		}
		switch {
		case c.Type == "" && c.Product == "":
			return bad("neither type nor product given")
		case c.Count < 1 || c.Count > maxCards:
			return bad("count %d, want 1..%d", c.Count, maxCards)
		case c.MemoryMiB < 0:
			return bad("memoryMiB %d is negative", c.MemoryMiB)
		case c.UtilizationPercent != nil && !(*c.UtilizationPercent >= 0 && *c.UtilizationPercent <= 100):
			return bad("utilization %v, want 0..100", *c.UtilizationPercent)
		case c.MemoryUsedMiB != nil && (*c.MemoryUsedMiB < 0 || c.MemoryMiB > 0 && *c.MemoryUsedMiB > c.MemoryMiB):
			return bad("memoryUsedMiB %d, want 0..the card's memory", *c.MemoryUsedMiB)
		case c.TemperatureC != nil && !(*c.TemperatureC >= 0 && *c.TemperatureC <= maxTemperatureC):
			return bad("temperatureC %v, want 0..%d", *c.TemperatureC, maxTemperatureC)
		case c.PowerW != nil && !(*c.PowerW >= 0 && *c.PowerW <= maxPowerW):
			return bad("powerW %v, want 0..%d", *c.PowerW, maxPowerW)
		case c.MIG != nil && len(*c.MIG) > 7:
			return bad("%d MIG instances, a card holds at most 7", len(*c.MIG))
		}
		if c.MIG != nil {
			for _, p := range *c.MIG {
				if _, err := catalog.ParseMIGProfile(p); err != nil {
					return bad("%v", err)
				}
			}
		}
		total += c.Count
	}
	if total > maxCards {
		return fmt.Errorf("%w: %d cards in all, at most %d", ErrBadSpec, total, maxCards)
	}
	return nil
}

func (c Card) name() string {
	if c.Type != "" {
		return c.Type
	}
	return c.Product
}
