package runtime

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// DropInName is the file the agent writes under containerd's imports
// directory: the name the NVIDIA container toolkit uses, so that the two
// never configure the runtime twice.
const DropInName = "99-nvidia.toml"

// ContainerdPlan is what PlanContainerdDropIn decides for the two files.
type ContainerdPlan struct {
	// Config is config.toml's new content; ConfigChanged says whether it
	// differs (it gains at most the imports line).
	Config        []byte
	ConfigChanged bool
	// DropIn is the drop-in's content; DropInChanged says whether it
	// differs from what is there. DropIn is nil when config.toml itself
	// already makes the runtime the default, and no drop-in is needed.
	DropIn        []byte
	DropInChanged bool
}

// PlanContainerdDropIn configures spec's runtime in a drop-in file instead
// of in the operator's config.toml, as the NVIDIA container toolkit does.
// config and dropIn are the two files' contents; importGlob is the pattern
// config.toml's imports must hold for containerd to read the drop-in, as
// the host sees it (/etc/containerd/conf.d/*.toml).
//
// The drop-in holds the whole CRI plugin table of config.toml with the
// runtime added: containerd 1.x replaces a plugin's table by an imported
// one rather than merging them, so a drop-in holding only the runtime would
// drop the operator's CRI settings there (2.x merges; the copy is then
// merely redundant). It is planned again from config.toml on every pass, so
// an operator's later change to config.toml reaches it.
//
// config.toml is never re-encoded: when its imports lack importGlob, the
// line is added as text (after the version line, or at the end of a
// one-line imports array), so comments and order stay. A config.toml that
// already makes the runtime the default is left alone and needs no
// drop-in. Errors wrap ErrUnparsable, ErrUnsupportedVersion or
// ErrUnexpectedShape.
func PlanContainerdDropIn(config, dropIn []byte, spec RuntimeSpec, importGlob string) (ContainerdPlan, error) {
	p := ContainerdPlan{Config: config}
	full, changed, err := PlanContainerd(config, spec)
	if err != nil || !changed {
		return p, err
	}
	doc := map[string]any{}
	if err := toml.Unmarshal(full, &doc); err != nil {
		return p, fmt.Errorf("%w: reading back the planned config: %w", ErrUnexpectedShape, err)
	}
	plugin, err := containerdPlugin(doc)
	if err != nil {
		return p, err
	}
	cri, err := subTable(doc, "plugins", plugin)
	if err != nil {
		return p, err
	}
	var b bytes.Buffer
	b.WriteString("# Written by the gpuplane node agent: the NVIDIA runtime as containerd's default.\n")
	b.WriteString("# It holds the CRI plugin's settings of config.toml too, since containerd 1.x\n")
	b.WriteString("# replaces a plugin's table by an imported one. Rewritten from config.toml by the agent.\n")
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(true)
	if err := enc.Encode(map[string]any{"version": doc["version"], "plugins": map[string]any{plugin: cri}}); err != nil {
		return p, fmt.Errorf("encoding the drop-in: %w", err)
	}
	p.DropIn = b.Bytes()
	p.DropInChanged = !bytes.Equal(p.DropIn, dropIn)

	p.Config, p.ConfigChanged, err = addImport(config, importGlob)
	return p, err
}

var (
	versionLine = regexp.MustCompile(`(?m)^version\s*=.*$`)
	importsLine = regexp.MustCompile(`(?m)^imports\s*=\s*\[(.*)\]\s*(#.*)?$`)
)

// addImport returns config with importGlob among its imports, added as
// text; changed is false when an import already names it (or a pattern
// matching the drop-in does). The result is checked to decode to the same
// document but for imports (and version, on an empty file).
func addImport(config []byte, importGlob string) ([]byte, bool, error) {
	doc := map[string]any{}
	if err := toml.Unmarshal(config, &doc); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrUnparsable, err)
	}
	imports, _ := doc["imports"].([]any)
	if _, ok := doc["imports"]; ok && imports == nil {
		return nil, false, fmt.Errorf("%w: imports is a %T, want an array of paths", ErrUnexpectedShape, doc["imports"])
	}
	dropIn := filepath.Join(filepath.Dir(importGlob), DropInName)
	for _, v := range imports {
		s, _ := v.(string)
		if ok, _ := filepath.Match(s, dropIn); ok || s == importGlob {
			return config, false, nil
		}
	}
	quoted := strconv.Quote(importGlob)
	var out []byte
	switch m := importsLine.FindSubmatchIndex(config); {
	case m != nil:
		inner := strings.TrimSpace(string(config[m[2]:m[3]]))
		sep := ", "
		if inner == "" || strings.HasSuffix(inner, ",") {
			sep = ""
			if inner != "" {
				sep = " "
			}
		}
		out = append(append(append([]byte{}, config[:m[3]]...), sep+quoted...), config[m[3]:]...)
	case imports != nil:
		return nil, false, fmt.Errorf("%w: imports spans several lines; add %s to it", ErrUnexpectedShape, quoted)
	default:
		line := "imports = [" + quoted + "]\n"
		if loc := versionLine.FindIndex(config); loc != nil {
			end := loc[1]
			if end < len(config) {
				end++ // past the newline
			} else {
				line = "\n" + line
			}
			out = append(append(append([]byte{}, config[:end]...), line...), config[end:]...)
		} else {
			out = append([]byte(fmt.Sprintf("version = %d\n%s", containerdEmptyVersion, line)), config...)
		}
	}
	if err := sameButImports(config, out, importGlob); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// sameButImports checks that edited decodes as old with importGlob added
// to imports (and a version, where old had none).
func sameButImports(old, edited []byte, importGlob string) error {
	a, b := map[string]any{}, map[string]any{}
	if err := toml.Unmarshal(old, &a); err != nil {
		return fmt.Errorf("%w: %w", ErrUnparsable, err)
	}
	if err := toml.Unmarshal(edited, &b); err != nil {
		return fmt.Errorf("%w: adding the imports line would break the file: %w", ErrUnexpectedShape, err)
	}
	imports, _ := b["imports"].([]any)
	if len(imports) == 0 || imports[len(imports)-1] != importGlob {
		return fmt.Errorf("%w: could not add %q to imports", ErrUnexpectedShape, importGlob)
	}
	if old, ok := a["imports"].([]any); ok {
		b["imports"] = imports[:len(old)]
	} else {
		delete(b, "imports")
	}
	if _, ok := a["version"]; !ok {
		delete(b, "version")
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%w: adding the imports line would change other keys", ErrUnexpectedShape)
	}
	return nil
}
