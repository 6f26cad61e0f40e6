package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Docker's daemon.json keys the agent owns.
const (
	dockerKeyRuntimes       = "runtimes"
	dockerKeyDefaultRuntime = "default-runtime"
	dockerKeyPath           = "path"
	dockerKeyRuntimeArgs    = "runtimeArgs"
)

// defaultJSONIndent is used for files that are empty or written on one line.
const defaultJSONIndent = "  "

// RuntimeSpec is the runtime the agent installs.
type RuntimeSpec struct {
	// Name is the runtime's name in the configuration; default "nvidia".
	Name string
	// Path is the runtime binary as the container runtime will exec it;
	// default "nvidia-container-runtime" (looked up in the runtime's PATH).
	Path string
	// Accepts reports whether a path already in a file names the same
	// binary as Path (its full path, say), so that the file is left as it
	// is; nil accepts Path itself only.
	Accepts func(path string) bool
}

// accepts reports whether p, found in a file, names the runtime binary.
func (s RuntimeSpec) accepts(p string) bool {
	return p == s.Path || s.Accepts != nil && s.Accepts(p)
}

// DefaultRuntimeName and DefaultRuntimePath are RuntimeSpec's defaults.
const (
	DefaultRuntimeName = "nvidia"
	DefaultRuntimePath = "nvidia-container-runtime"
)

// Default returns s with empty fields set to their defaults.
func (s RuntimeSpec) Default() RuntimeSpec {
	if s.Name == "" {
		s.Name = DefaultRuntimeName
	}
	if s.Path == "" {
		s.Path = DefaultRuntimePath
	}
	return s
}

// PlanDocker returns daemon.json content that registers spec's runtime under
// "runtimes" and makes it "default-runtime", and whether that differs from
// old. Every other member keeps its position and its exact bytes; an
// existing runtime entry of that name keeps its other fields (runtimeArgs
// the operator set survive). Empty or all-whitespace content counts as {}.
// Errors wrap ErrUnparsable or ErrUnexpectedShape.
func PlanDocker(old []byte, spec RuntimeSpec) (out []byte, changed bool, err error) {
	spec = spec.Default()
	src := old
	if len(bytes.TrimSpace(src)) == 0 {
		src = []byte("{}")
	}
	top, err := parseJSONObject(src)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrUnparsable, err)
	}
	unit := detectIndent(src)
	if unit == "" {
		unit = defaultJSONIndent
	}

	runtimes := &jsonObject{}
	if raw, ok := top.get(dockerKeyRuntimes); ok {
		if runtimes, err = parseJSONObject(raw); err != nil {
			return nil, false, fmt.Errorf("%w: %q must be an object of runtimes: %w", ErrUnexpectedShape, dockerKeyRuntimes, err)
		}
	}
	entry := &jsonObject{}
	rawEntry, hadEntry := runtimes.get(spec.Name)
	if hadEntry {
		if entry, err = parseJSONObject(rawEntry); err != nil {
			return nil, false, fmt.Errorf("%w: runtimes.%s must be an object: %w", ErrUnexpectedShape, spec.Name, err)
		}
	}
	wantPath := encodeJSONString(spec.Path)
	wantDefault := encodeJSONString(spec.Name)

	entryChanged := false
	if p, ok := entry.get(dockerKeyPath); !ok || !jsonStringAccepted(p, spec) {
		entry.set(dockerKeyPath, wantPath)
		entryChanged = true
	}
	if !hadEntry {
		entry.set(dockerKeyRuntimeArgs, json.RawMessage("[]"))
	}
	if entryChanged {
		runtimes.set(spec.Name, entry.render(unit, 2))
		top.set(dockerKeyRuntimes, runtimes.render(unit, 1))
		changed = true
	}
	if d, ok := top.get(dockerKeyDefaultRuntime); !ok || !jsonStringEquals(d, spec.Name) {
		top.set(dockerKeyDefaultRuntime, wantDefault)
		changed = true
	}
	if !changed {
		return old, false, nil
	}
	out = append(top.render(unit, 0), '\n')
	return out, true, nil
}

// jsonStringAccepted reports whether raw is a JSON string naming spec's
// runtime binary, whatever escapes it was written with.
func jsonStringAccepted(raw json.RawMessage, spec RuntimeSpec) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && spec.accepts(s)
}

// jsonStringEquals reports whether raw is a JSON string equal to want,
// whatever escapes it was written with.
func jsonStringEquals(raw json.RawMessage, want string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}
