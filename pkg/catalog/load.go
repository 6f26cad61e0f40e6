package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
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
	Pools       []filePool       `yaml:"pools,omitempty"`
}

type filePool struct {
	Name       string         `yaml:"name"`
	Types      []string       `yaml:"types,omitempty,flow"`
	Sharing    string         `yaml:"sharing,omitempty"`
	Allocation string         `yaml:"allocation,omitempty"`
	DRA        *fileDRA       `yaml:"dra,omitempty"`
	HAMi       *fileHAMi      `yaml:"hami,omitempty"`
	MIG        *filePoolMIG   `yaml:"mig,omitempty"`
	Timeslice  *fileTimeslice `yaml:"timeslice,omitempty"`
}

type fileDRA struct {
	DeviceClass    string `yaml:"deviceClass,omitempty"`
	MIGDeviceClass string `yaml:"migDeviceClass,omitempty"`
	TypeAttribute  string `yaml:"typeAttribute,omitempty"`
}

type fileHAMi struct {
	Resource                 string `yaml:"resource,omitempty"`
	MemoryResource           string `yaml:"memoryResource,omitempty"`
	MemoryPercentageResource string `yaml:"memoryPercentageResource,omitempty"`
	CoresResource            string `yaml:"coresResource,omitempty"`
	SplitCount               int    `yaml:"splitCount,omitempty"`
}

type filePoolMIG struct {
	Strategy string `yaml:"strategy,omitempty"`
}

type fileTimeslice struct {
	// RenameByDefault is the device plugin's sharing.timeSlicing setting:
	// true (absent) advertises replicas as nvidia.com/gpu.shared.
	RenameByDefault *bool `yaml:"renameByDefault,omitempty"`
	Replicas        int   `yaml:"replicas,omitempty"`
}

type fileTypeMIG struct {
	Slices   int      `yaml:"slices"`
	Profiles []string `yaml:"profiles,flow"`
}

type fileVendor struct {
	Name        string            `yaml:"name"`
	Resource    string            `yaml:"resource"`
	Default     bool              `yaml:"default,omitempty"`
	Label       string            `yaml:"label,omitempty"`
	Tolerations *[]fileToleration `yaml:"tolerations,omitempty"`
}

type fileType struct {
	Name     string       `yaml:"name"`
	Vendor   string       `yaml:"vendor,omitempty"`
	Memory   string       `yaml:"memory"`
	Aliases  []string     `yaml:"aliases,omitempty,flow"`
	Products []string     `yaml:"products,omitempty,flow"`
	MIG      *fileTypeMIG `yaml:"mig,omitempty"`
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

// decode parses one YAML document strictly: the decoder itself refuses
// unknown and repeated fields and values of the wrong kind. A second pass
// over the document's nodes records the line of every field, so that these
// errors and those of validation name their line and field path.
func decode(data []byte) (*file, lineMap, []FieldError) {
	nodes := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := nodes.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, []FieldError{{Msg: "the catalog is empty; it needs at least apiVersion: " + APIVersion + " and kind: " + FileKind}}
		}
		return nil, nil, []FieldError{yamlError(err)}
	}
	var extra yaml.Node
	if err := nodes.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = yamlError(err).Line
		}
		return nil, nil, []FieldError{{Line: line, Msg: "a catalog is a single YAML document; remove the \"---\" and what follows"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	// A field missing at the top is reported on the document's first line.
	lines := lineMap{"": root.Line}
	kinds := map[string]string{}
	lines.record(root, "", kinds)

	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, []FieldError{yamlError(err)}
		}
		errs := make([]FieldError, 0, min(len(te.Errors), maxErrors+1))
		for _, msg := range te.Errors {
			if len(errs) == maxErrors {
				errs = append(errs, FieldError{Msg: fmt.Sprintf("and %d more problems; fix these first", len(te.Errors)-maxErrors)})
				break
			}
			errs = append(errs, lines.explain(msg, kinds))
		}
		return nil, nil, errs
	}
	var errs []FieldError
	if f.APIVersion != APIVersion {
		errs = append(errs, FieldError{Line: lines.find("apiVersion"), Field: "apiVersion",
			Msg: fmt.Sprintf("%q: this program reads apiVersion %s", f.APIVersion, APIVersion)})
	}
	if f.Kind != FileKind {
		errs = append(errs, FieldError{Line: lines.find("kind"), Field: "kind",
			Msg: fmt.Sprintf("%q: a catalog has kind %s", f.Kind, FileKind)})
	}
	return &f, lines, errs
}

// record notes the line of every field and list item under n at its first
// occurrence, and in kinds the kind of its value. It does not follow
// aliases: what an alias names is recorded where its anchor is, and an
// alias bomb costs nothing here.
func (m lineMap) record(n *yaml.Node, path string, kinds map[string]string) {
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := idx(path, i)
			m.add(p, item.Line, item, kinds)
			m.record(item, p, kinds)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			m.add(p, k.Line, v, kinds)
			m.record(v, p, kinds)
		}
	}
}

func (m lineMap) add(path string, line int, v *yaml.Node, kinds map[string]string) {
	if _, ok := m[path]; ok {
		return
	}
	m[path] = line
	kinds[path] = tagKind(v.ShortTag())
}

// at returns the deepest path recorded on line that ends in name ("" for
// any) and, unless kind is "", whose value is of that kind.
func (m lineMap) at(line int, name, kind string, kinds map[string]string) string {
	best := ""
	for p, l := range m {
		if l != line || len(p) <= len(best) {
			continue
		}
		if name != "" && p != name && !strings.HasSuffix(p, "."+name) {
			continue
		}
		if kind != "" && kinds[p] != kind {
			continue
		}
		best = p
	}
	return best
}

// maxErrors bounds the problems a refusal lists; each costs a look through
// the lines of the file.
const maxErrors = 50

// The strict decoder's messages, whose parts explain turns into a
// FieldError with the field's path and what would be accepted.
var (
	yamlUnknown  = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	yamlRepeated = regexp.MustCompile(`^line (\d+): mapping key "(.+)" already defined at line (\d+)$`)
	yamlKind     = regexp.MustCompile(`^line (\d+): cannot unmarshal (!!\w+)(?: .*)? into (\S+)$`)
)

// explain turns one message of the strict decoder into a FieldError.
func (m lineMap) explain(msg string, kinds map[string]string) FieldError {
	if g := yamlUnknown.FindStringSubmatch(msg); g != nil {
		line := atoi(g[1])
		return FieldError{Line: line, Field: m.at(line, g[2], "", kinds), Msg: fmt.Sprintf("unknown field %q; known: %s", g[2], strings.Join(fileFields[g[3]], ", "))}
	}
	if g := yamlRepeated.FindStringSubmatch(msg); g != nil {
		line, first := atoi(g[1]), atoi(g[3])
		return FieldError{Line: line, Field: m.at(first, g[2], "", kinds), Msg: fmt.Sprintf("field %q is repeated (first at line %s)", g[2], g[3])}
	}
	if g := yamlKind.FindStringSubmatch(msg); g != nil {
		line := atoi(g[1])
		got, want := tagKind(g[2]), goKind(g[3])
		if got != want {
			p, where := "", "the catalog"
			if g[3] != fileTypeName {
				p = m.at(line, "", got, kinds)
				where = p
			}
			return FieldError{Line: line, Field: p, Msg: fmt.Sprintf("%s must be %s, not %s", where, want, got)}
		}
	}
	return yamlError(errors.New(msg))
}

// Kinds of YAML values, as messages name them.
const (
	kindScalar  = "a single value"
	kindMapping = "a mapping of fields"
	kindList    = "a list"
)

func tagKind(tag string) string {
	switch tag {
	case "!!map":
		return kindMapping
	case "!!seq":
		return kindList
	}
	return kindScalar
}

// goKind is the kind of YAML value a Go type of the file form takes.
func goKind(typ string) string {
	typ = strings.TrimPrefix(typ, "*")
	switch {
	case strings.HasPrefix(typ, "[]"):
		return kindList
	case fileFields[typ] != nil:
		return kindMapping
	}
	return kindScalar
}

// fileTypeName is how the decoder names the file form's top type.
var fileTypeName = reflect.TypeFor[file]().String()

// fileFields maps the name of each struct type of the file form, as the
// decoder writes it ("catalog.fileType"), to its YAML field names in order:
// read off the struct tags, so that the file form is the one schema.
var fileFields = func() map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.String()] != nil {
			return
		}
		names := make([]string, 0, t.NumField())
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			names = append(names, name)
		}
		out[t.String()] = names
		for i := range t.NumField() {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[file]())
	return out
}()

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// yamlError turns a YAML library error into a FieldError with its line.
func yamlError(err error) FieldError {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.Contains(msg, "excessive aliasing") {
		return FieldError{Msg: "the catalog expands to more than a catalog ever holds (through YAML aliases?)"}
	}
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
			c.Vendors[i] = Vendor{Name: v.Name, Resource: v.Resource, Default: v.Default, Label: v.Label}
			if v.Tolerations != nil {
				c.Vendors[i].Tolerations = tolerations(*v.Tolerations)
			}
		}
	}
	if f.Types != nil {
		c.Types = make([]Type, len(f.Types))
		for i, t := range f.Types {
			// An empty list is written as none (omitempty) and loaded as none,
			// so that a catalog loads back from its own YAML unchanged.
			c.Types[i] = Type{Name: t.Name, Vendor: t.Vendor, Aliases: noneIfEmpty(t.Aliases), Products: noneIfEmpty(t.Products)}
			if m := t.MIG; m != nil {
				c.Types[i].MIG.Slices = m.Slices
				for j, name := range m.Profiles {
					p, err := ParseMIGProfile(name)
					if err != nil {
						errs = append(errs, FieldError{Field: idx(idx("types", i)+".mig.profiles", j), Msg: err.Error()})
						continue
					}
					c.Types[i].MIG.Profiles = append(c.Types[i].MIG.Profiles, p)
				}
			}
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
	c.Tolerations = tolerations(f.Tolerations)
	if f.Pools != nil {
		c.Pools = make([]Pool, len(f.Pools))
		for i, fp := range f.Pools {
			c.Pools[i] = filePoolToPool(fp)
			// Settings of another backend than the pool's would be silently
			// ignored: refuse them.
			sharing := cmp.Or(Sharing(fp.Sharing), SharingGPUManager)
			for _, o := range []struct {
				set  bool
				name string
				for_ Sharing
			}{{fp.HAMi != nil, "hami", SharingHAMi}, {fp.MIG != nil, "mig", SharingMIG}, {fp.Timeslice != nil, "timeslice", SharingTimeslice}} {
				if o.set && sharing != o.for_ {
					errs = append(errs, FieldError{Field: idx("pools", i) + "." + o.name,
						Msg: fmt.Sprintf("%s settings apply to a pool with sharing: %s, not %s; remove them or change the sharing", o.name, o.for_, sharing)})
				}
			}
		}
	}
	return c, errs
}

// filePoolToPool converts a pool's file form; validate checks the values.
func filePoolToPool(fp filePool) Pool {
	p := Pool{Name: fp.Name, Types: noneIfEmpty(fp.Types), Sharing: Sharing(fp.Sharing), Allocation: Allocation(fp.Allocation)}
	if d := fp.DRA; d != nil {
		p.DRA = DRA(*d)
	}
	if h := fp.HAMi; h != nil {
		p.HAMi = HAMi(*h)
	}
	if m := fp.MIG; m != nil {
		p.MIG.Strategy = MIGStrategy(m.Strategy)
	}
	if t := fp.Timeslice; t != nil {
		p.Timeslice.Replicas = t.Replicas
		if t.RenameByDefault != nil && !*t.RenameByDefault {
			p.Timeslice.Resource = TimesliceResource
		}
	}
	return p
}

// poolToFile is the inverse of filePoolToPool for a defaulted pool: it
// writes every setting, so that the file says what is in force.
func poolToFile(p Pool) filePool {
	fp := filePool{Name: p.Name, Types: p.Types, Sharing: string(p.Sharing), Allocation: string(p.Allocation)}
	if p.DRA != (DRA{}) {
		d := fileDRA(p.DRA)
		fp.DRA = &d
	}
	switch p.Sharing {
	case SharingHAMi:
		h := fileHAMi(p.HAMi)
		fp.HAMi = &h
	case SharingMIG:
		fp.MIG = &filePoolMIG{Strategy: string(p.MIG.Strategy)}
	case SharingTimeslice:
		rename := p.Timeslice.Resource != TimesliceResource
		fp.Timeslice = &fileTimeslice{RenameByDefault: &rename, Replicas: p.Timeslice.Replicas}
	}
	return fp
}

// tolerations converts the file form, keeping nil (absent) apart from
// empty (none).
func tolerations(ts []fileToleration) []Toleration {
	return convertList(ts, func(t fileToleration) Toleration { return Toleration(t) })
}

// fileTolerations is the inverse of tolerations.
func fileTolerations(ts []Toleration) []fileToleration {
	return convertList(ts, func(t Toleration) fileToleration { return fileToleration(t) })
}

// convertList converts a list item by item, keeping nil apart from empty.
func convertList[T, U any](ts []T, conv func(T) U) []U {
	if ts == nil {
		return nil
	}
	out := make([]U, len(ts))
	for i, t := range ts {
		out[i] = conv(t)
	}
	return out
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
		f.Vendors[i] = fileVendor{Name: v.Name, Resource: v.Resource, Default: v.Default, Label: v.Label}
		if v.Tolerations != nil {
			ts := fileTolerations(v.Tolerations)
			f.Vendors[i].Tolerations = &ts
		}
	}
	f.Types = make([]fileType, len(c.Types))
	for i, t := range c.Types {
		f.Types[i] = fileType{Name: t.Name, Vendor: t.Vendor, Memory: gpuspec.FormatMemory(t.MemoryMiB * gpuspec.MiB),
			Aliases: t.Aliases, Products: t.Products}
		if t.MIG.Slices > 0 || len(t.MIG.Profiles) > 0 {
			m := &fileTypeMIG{Slices: t.MIG.Slices, Profiles: []string{}}
			for _, p := range t.MIG.Profiles {
				m.Profiles = append(m.Profiles, p.Name)
			}
			f.Types[i].MIG = m
		}
	}
	f.Pools = convertList(c.Pools, poolToFile)
	f.VGPU = &fileVGPU{CoreResource: c.VGPU.CoreResource, CoresPerCard: c.VGPU.CoresPerCard,
		MemoryResource: c.VGPU.MemoryResource, MemoryUnit: gpuspec.FormatMemory(c.VGPU.MemoryUnitMiB * gpuspec.MiB)}
	f.Labels = (*fileLabels)(&c.Labels)
	f.Tolerations = fileTolerations(c.Tolerations)
	if f.Tolerations == nil {
		f.Tolerations = []fileToleration{}
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
