package catalog

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shapeKind is what a YAML value must be.
type shapeKind int

const (
	scalar shapeKind = iota
	mapping
	sequence
)

func (k shapeKind) String() string {
	return [...]string{"a single value", "a mapping of fields", "a list"}[k]
}

// schema describes the catalog file, so that unknown or repeated fields
// and values of the wrong kind are reported with their line before any
// value is decoded.
type schema struct {
	kind   shapeKind
	fields []field // mapping
	elem   *schema // sequence
}

type field struct {
	name string
	s    *schema
}

var (
	scalarSchema  = &schema{kind: scalar}
	scalarList    = &schema{kind: sequence, elem: scalarSchema}
	mappingSchema = func(fields ...field) *schema { return &schema{kind: mapping, fields: fields} }

	fileSchema = mappingSchema(
		field{"apiVersion", scalarSchema},
		field{"kind", scalarSchema},
		field{"vendors", &schema{kind: sequence, elem: mappingSchema(
			field{"name", scalarSchema},
			field{"resource", scalarSchema},
			field{"default", scalarSchema},
		)}},
		field{"types", &schema{kind: sequence, elem: mappingSchema(
			field{"name", scalarSchema},
			field{"vendor", scalarSchema},
			field{"memory", scalarSchema},
			field{"aliases", scalarList},
			field{"products", scalarList},
		)}},
		field{"vgpu", mappingSchema(
			field{"coreResource", scalarSchema},
			field{"coresPerCard", scalarSchema},
			field{"memoryResource", scalarSchema},
			field{"memoryUnit", scalarSchema},
		)},
		field{"labels", mappingSchema(
			field{"gpu", scalarSchema},
			field{"gpuType", scalarSchema},
			field{"vgpu", scalarSchema},
		)},
		field{"roles", scalarList},
		field{"tolerations", &schema{kind: sequence, elem: mappingSchema(
			field{"key", scalarSchema},
			field{"operator", scalarSchema},
			field{"value", scalarSchema},
			field{"effect", scalarSchema},
		)}},
	)
)

// Bounds of the shape walk. YAML aliases can make a small file expand to
// a huge tree ("billion laughs"); no real catalog comes near these.
const (
	maxNodes  = 100000
	maxErrors = 50
)

// shape walks a YAML tree against a schema, recording the line of every
// path it meets.
type shape struct {
	lines  lineMap
	errs   []FieldError
	depth  int
	nodes  int
	capped bool
}

func (s *shape) errorf(line int, path, format string, args ...any) {
	if len(s.errs) == maxErrors {
		s.errs = append(s.errs, FieldError{Msg: "too many problems; fix these first"})
	}
	if len(s.errs) > maxErrors {
		return
	}
	s.errs = append(s.errs, FieldError{Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (s *shape) check(n *yaml.Node, path string, want *schema) {
	if s.capped {
		return
	}
	s.nodes++
	if s.nodes > maxNodes {
		s.capped = true
		s.errorf(n.Line, path, "the catalog expands to more than %d values (through YAML aliases?)", maxNodes)
		return
	}
	// The schema is shallow, so a deep chain of aliases is malformed
	// input, not a catalog.
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > 32 {
		s.errorf(n.Line, path, "nested too deeply")
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		s.check(n.Alias, path, want)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value: the field is absent
	}
	var got shapeKind
	switch n.Kind {
	case yaml.MappingNode:
		got = mapping
	case yaml.SequenceNode:
		got = sequence
	case yaml.ScalarNode:
		got = scalar
	default:
		s.errorf(n.Line, path, "unexpected YAML node")
		return
	}
	if got != want.kind {
		where := path
		if where == "" {
			where = "the catalog"
		}
		s.errorf(n.Line, path, "%s must be %s, not %s", where, want.kind, got)
		return
	}
	switch want.kind {
	case sequence:
		for i, item := range n.Content {
			p := idx(path, i)
			s.lines[p] = item.Line
			s.check(item, p, want.elem)
		}
	case mapping:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			p := name
			if path != "" {
				p = path + "." + name
			}
			if prev, ok := seen[name]; ok {
				s.errorf(k.Line, p, "field %q is repeated (first at line %d)", name, prev)
				continue
			}
			seen[name] = k.Line
			j := slices.IndexFunc(want.fields, func(f field) bool { return f.name == name })
			if j < 0 {
				s.errorf(k.Line, p, "unknown field %q; known: %s", name, fieldNames(want.fields))
				continue
			}
			s.lines[p] = k.Line
			s.check(v, p, want.fields[j].s)
		}
	}
}

func fieldNames(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}
