package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// The catalog file's version. A file with another apiVersion or kind is
// refused rather than half understood.
const (
	APIVersion = "gpuplane.io/v1alpha1"
	FileKind   = "GPUCatalog"
)

// MaxFileSize bounds a catalog file; a real one is a few KiB.
const MaxFileSize = 1 << 20

// file is the YAML form of a catalog.
type file struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Vendors    []fileVendor `yaml:"vendors,omitempty"`
	Types      []fileType   `yaml:"types,omitempty"`
	VGPU       *fileVGPU    `yaml:"vgpu,omitempty"`
	Labels     *fileLabels  `yaml:"labels,omitempty"`
	// Roles and Tolerations keep an empty list when written: absent means
	// the default, empty means none.
	Roles       []string         `yaml:"roles"`
	Tolerations []fileToleration `yaml:"tolerations"`
}

type fileVendor struct {
	Name     string `yaml:"name"`
	Resource string `yaml:"resource"`
	Default  bool   `yaml:"default,omitempty"`
}

type fileType struct {
	Name     string   `yaml:"name"`
	Vendor   string   `yaml:"vendor,omitempty"`
	Memory   string   `yaml:"memory"`
	Aliases  []string `yaml:"aliases,omitempty,flow"`
	Products []string `yaml:"products,omitempty,flow"`
}

type fileVGPU struct {
	CoreResource   string `yaml:"coreResource,omitempty"`
	CoresPerCard   int    `yaml:"coresPerCard,omitempty"`
	MemoryResource string `yaml:"memoryResource,omitempty"`
	MemoryUnit     string `yaml:"memoryUnit,omitempty"`
}

type fileLabels struct {
	GPU     string `yaml:"gpu,omitempty"`
	GPUType string `yaml:"gpuType,omitempty"`
	VGPU    string `yaml:"vgpu,omitempty"`
}

type fileToleration struct {
	Key      string `yaml:"key,omitempty"`
	Operator string `yaml:"operator,omitempty"`
	Value    string `yaml:"value,omitempty"`
	Effect   string `yaml:"effect,omitempty"`
}

// Load reads a catalog from YAML, strictly: an unknown or repeated field,
// a value of the wrong kind, a duplicate type name or alias, or any invalid
// value is an error naming its line. Absent sections take the built-in
// default's (see Catalog's fields). Errors are *LoadError (ErrInvalid).
func Load(r io.Reader) (*Catalog, error) {
	def, err := builtin()
	if err != nil {
		return nil, err
	}
	return load(r, def)
}

// LoadFile reads the catalog file at path; "" means the built-in default.
func LoadFile(path string) (*Catalog, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("GPU catalog: %w", err)
	}
	defer f.Close()
	c, err := Load(f)
	var le *LoadError
	if errors.As(err, &le) {
		le.Source = path
	}
	return c, err
}

// load decodes and validates; def is nil for the built-in catalog itself.
func load(r io.Reader, def *Catalog) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("GPU catalog: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &LoadError{Errs: []FieldError{{Msg: fmt.Sprintf("the catalog is larger than %d bytes", MaxFileSize)}}}
	}
	f, lines, errs := decode(data)
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	c, errs := f.catalog()
	if len(errs) == 0 {
		c.setDefaults(def)
		errs = c.validate()
	}
	if len(errs) > 0 {
		for i := range errs {
			errs[i].Line = lines.find(errs[i].Field)
		}
		return nil, &LoadError{Errs: errs}
	}
	c.build()
	return c, nil
}

// lineMap maps field paths ("types[3].aliases[0]") to their YAML line.
type lineMap map[string]int

// find returns the line of a path, or of its nearest parent that has one
// (a missing field is reported on the line of the object lacking it).
func (m lineMap) find(path string) int {
	for path != "" {
		if l, ok := m[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return m[""]
}

// decode parses one YAML document, checks its shape against the schema
// (unknown fields, repeated fields, kinds of values), and decodes it.
func decode(data []byte) (*file, lineMap, []FieldError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, []FieldError{{Msg: "the catalog is empty; it needs at least apiVersion: " + APIVersion + " and kind: " + FileKind}}
		}
		return nil, nil, []FieldError{yamlError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			fe := yamlError(err)
			line = fe.Line
		}
		return nil, nil, []FieldError{{Line: line, Msg: "a catalog is a single YAML document; remove the \"---\" and what follows"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	// A field missing at the top is reported on the document's first line.
	s := shape{lines: lineMap{"": root.Line}}
	s.check(root, "", fileSchema)
	if len(s.errs) > 0 {
		return nil, nil, s.errs
	}
	var f file
	if err := root.Decode(&f); err != nil {
		return nil, nil, []FieldError{yamlError(err)}
	}
	var errs []FieldError
	if f.APIVersion != APIVersion {
		errs = append(errs, FieldError{Line: s.lines.find("apiVersion"), Field: "apiVersion",
			Msg: fmt.Sprintf("%q: this program reads apiVersion %s", f.APIVersion, APIVersion)})
	}
	if f.Kind != FileKind {
		errs = append(errs, FieldError{Line: s.lines.find("kind"), Field: "kind",
			Msg: fmt.Sprintf("%q: a catalog has kind %s", f.Kind, FileKind)})
	}
	return &f, s.lines, errs
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// yamlError turns a YAML library error into a FieldError with its line.
func yamlError(err error) FieldError {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	fe := FieldError{Msg: msg}
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		fe.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		fe.Msg = msg[:m[0]] + msg[m[1]:]
	}
	return fe
}

// catalog converts the file form; memory amounts are parsed here.
func (f *file) catalog() (*Catalog, []FieldError) {
	var errs []FieldError
	c := &Catalog{Roles: f.Roles}
	if f.Vendors != nil {
		c.Vendors = make([]Vendor, len(f.Vendors))
		for i, v := range f.Vendors {
			c.Vendors[i] = Vendor(v)
		}
	}
	if f.Types != nil {
		c.Types = make([]Type, len(f.Types))
		for i, t := range f.Types {
			// An empty list is written as none (omitempty) and loaded as none,
			// so that a catalog loads back from its own YAML unchanged.
			c.Types[i] = Type{Name: t.Name, Vendor: t.Vendor, Aliases: noneIfEmpty(t.Aliases), Products: noneIfEmpty(t.Products)}
			if t.Memory == "" {
				continue // validate reports it
			}
			b, err := gpuspec.ParseMemory(t.Memory)
			if err != nil {
				errs = append(errs, FieldError{Field: idx("types", i) + ".memory", Msg: memoryMessage(err)})
				continue
			}
			c.Types[i].MemoryMiB = b / gpuspec.MiB
		}
	}
	if g := f.VGPU; g != nil {
		c.VGPU = VGPU{CoreResource: g.CoreResource, CoresPerCard: g.CoresPerCard, MemoryResource: g.MemoryResource}
		if g.MemoryUnit != "" {
			b, err := gpuspec.ParseMemory(g.MemoryUnit)
			if err != nil {
				errs = append(errs, FieldError{Field: "vgpu.memoryUnit", Msg: memoryMessage(err)})
			} else {
				c.VGPU.MemoryUnitMiB = b / gpuspec.MiB
			}
		}
	}
	if l := f.Labels; l != nil {
		c.Labels = Labels(*l)
	}
	if f.Tolerations != nil {
		c.Tolerations = make([]Toleration, len(f.Tolerations))
		for i, t := range f.Tolerations {
			c.Tolerations[i] = Toleration(t)
		}
	}
	return c, errs
}

func memoryMessage(err error) string {
	var e *gpuspec.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%q: %s; %s", e.Input, e.Msg, e.Hint)
	}
	return err.Error()
}

// WriteYAML writes the catalog in the file format Load reads; loading it
// back gives an equal catalog.
func (c *Catalog) WriteYAML(w io.Writer) error {
	f := file{APIVersion: APIVersion, Kind: FileKind, Roles: c.Roles}
	f.Vendors = make([]fileVendor, len(c.Vendors))
	for i, v := range c.Vendors {
		f.Vendors[i] = fileVendor(v)
	}
	f.Types = make([]fileType, len(c.Types))
	for i, t := range c.Types {
		f.Types[i] = fileType{Name: t.Name, Vendor: t.Vendor, Memory: gpuspec.FormatMemory(t.MemoryMiB * gpuspec.MiB),
			Aliases: t.Aliases, Products: t.Products}
	}
	f.VGPU = &fileVGPU{CoreResource: c.VGPU.CoreResource, CoresPerCard: c.VGPU.CoresPerCard,
		MemoryResource: c.VGPU.MemoryResource, MemoryUnit: gpuspec.FormatMemory(c.VGPU.MemoryUnitMiB * gpuspec.MiB)}
	f.Labels = (*fileLabels)(&c.Labels)
	f.Tolerations = make([]fileToleration, len(c.Tolerations))
	for i, t := range c.Tolerations {
		f.Tolerations[i] = fileToleration(t)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return fmt.Errorf("GPU catalog: %w", err)
	}
	return enc.Close()
}

// noneIfEmpty returns nil for an empty list.
func noneIfEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}
