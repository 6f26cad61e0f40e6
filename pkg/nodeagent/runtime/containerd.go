package runtime

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// The CRI plugin that owns runtimes differs between config versions: version
// 2 (containerd 1.x, still read by 2.x) keeps them under the grpc CRI plugin,
// version 3 (containerd 2.x) under the split-out runtime plugin.
const (
	containerdCRIPluginV2 = "io.containerd.grpc.v1.cri"
	containerdCRIPluginV3 = "io.containerd.cri.v1.runtime"
)

// runcShim is the shim whose options carry BinaryName; the NVIDIA runtime is
// a runc wrapper, so it runs under the same shim.
const runcShim = "io.containerd.runc.v2"

// containerdEmptyVersion is written into an empty config.toml: version 2 is
// read by containerd 1.7 and (migrated on load) by 2.x, so it is the one
// choice right for both.
const containerdEmptyVersion = 2

// PlanContainerd returns config.toml content that defines spec's runtime (a
// runc-shim runtime whose options.BinaryName is spec.Path) in the CRI
// plugin's runtimes and makes it default_runtime_name, and whether that
// differs from old. A new runtime entry starts as a copy of the runc entry,
// so settings such as SystemdCgroup match the runtime it replaces. Every
// unrelated key and value is kept; comments and key order are not (the file
// is re-encoded; Configurator keeps a backup). Errors wrap ErrUnparsable,
// ErrUnsupportedVersion or ErrUnexpectedShape.
func PlanContainerd(old []byte, spec RuntimeSpec) (out []byte, changed bool, err error) {
	spec = spec.Default()
	doc := map[string]any{}
	if err := toml.Unmarshal(old, &doc); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrUnparsable, err)
	}
	plugin, err := containerdPlugin(doc)
	if err != nil {
		return nil, false, err
	}

	section, err := subTable(doc, "plugins", plugin, "containerd")
	if err != nil {
		return nil, false, err
	}
	runtimes, err := subTable(section, "runtimes")
	if err != nil {
		return nil, false, fmt.Errorf("%w (under plugins.%q.containerd)", err, plugin)
	}
	entry, ok, err := optionalTable(runtimes, spec.Name)
	if err != nil {
		return nil, false, fmt.Errorf("%w (under plugins.%q.containerd.runtimes)", err, plugin)
	}
	if !ok {
		entry = map[string]any{}
		if runc, ok, _ := optionalTable(runtimes, "runc"); ok {
			entry = deepCopyTable(runc)
		}
		runtimes[spec.Name] = entry
		changed = true
	}
	if entry["runtime_type"] != runcShim {
		entry["runtime_type"] = runcShim
		changed = true
	}
	options, err := subTable(entry, "options")
	if err != nil {
		return nil, false, fmt.Errorf("%w (under plugins.%q.containerd.runtimes.%s)", err, plugin, spec.Name)
	}
	if name, ok := options["BinaryName"].(string); !ok || !spec.accepts(name) {
		options["BinaryName"] = spec.Path
		changed = true
	}
	if section["default_runtime_name"] != spec.Name {
		section["default_runtime_name"] = spec.Name
		changed = true
	}
	if !changed {
		return old, false, nil
	}
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(true)
	if err := enc.Encode(doc); err != nil {
		return nil, false, fmt.Errorf("encoding config.toml: %w", err)
	}
	return b.Bytes(), true, nil
}

// containerdPlugin reads the version key and returns the CRI plugin that
// holds runtimes; an empty document is given containerdEmptyVersion.
func containerdPlugin(doc map[string]any) (string, error) {
	v, ok := doc["version"]
	if !ok {
		if len(doc) == 0 {
			doc["version"] = int64(containerdEmptyVersion)
			return containerdCRIPluginV2, nil
		}
		return "", fmt.Errorf("%w: no version key, which means version 1; the agent edits versions 2 and 3 only (`containerd config migrate` converts it)", ErrUnsupportedVersion)
	}
	n, isInt := v.(int64)
	switch {
	case isInt && n == 2:
		return containerdCRIPluginV2, nil
	case isInt && n == 3:
		return containerdCRIPluginV3, nil
	}
	return "", fmt.Errorf("%w: version = %v; the agent edits versions 2 and 3", ErrUnsupportedVersion, v)
}

// subTable walks path from t, creating missing tables, and fails with
// ErrUnexpectedShape when a key on the way holds something other than a table.
func subTable(t map[string]any, path ...string) (map[string]any, error) {
	for i, key := range path {
		next, ok, err := optionalTable(t, key)
		if err != nil {
			return nil, fmt.Errorf("%w (at %s)", err, strings.Join(path[:i+1], "."))
		}
		if !ok {
			next = map[string]any{}
			t[key] = next
		}
		t = next
	}
	return t, nil
}

func optionalTable(t map[string]any, key string) (map[string]any, bool, error) {
	v, ok := t[key]
	if !ok {
		return nil, false, nil
	}
	m, isTable := v.(map[string]any)
	if !isTable {
		return nil, false, fmt.Errorf("%w: %q is a %T, want a table", ErrUnexpectedShape, key, v)
	}
	return m, true, nil
}

// deepCopyTable copies nested tables and arrays so that editing the copy
// leaves the original (the runc entry) as it was.
func deepCopyTable(t map[string]any) map[string]any {
	out := maps.Clone(t)
	for k, v := range out {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyTable(x)
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopyValue(e)
		}
		return c
	}
	return v
}
