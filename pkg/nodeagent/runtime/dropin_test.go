package runtime

import (
	"errors"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

const testGlob = "/etc/containerd/conf.d/*.toml"

func TestPlanContainerdDropIn(t *testing.T) {
	tests := []struct {
		name          string
		config        string
		wantConfig    string // "" : config.toml unchanged
		wantDropIn    bool
		wantErr       error
		existingRight bool // the drop-in is already as planned
	}{
		{name: "v2: the imports line goes after the version", config: containerdV2,
			wantConfig: strings.Replace(containerdV2, "version = 2\n", "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n", 1), wantDropIn: true},
		{name: "v3 importing conf.d already: config.toml untouched", config: containerdV3, wantDropIn: true},
		{name: "the drop-in already right: nothing", config: containerdV3, wantDropIn: true, existingRight: true},
		{name: "another import: ours appended on its line", config: "version = 2\nimports = [\"/etc/containerd/extra.toml\"] # site\n",
			wantConfig: "version = 2\nimports = [\"/etc/containerd/extra.toml\", \"/etc/containerd/conf.d/*.toml\"] # site\n", wantDropIn: true},
		{name: "an empty imports array", config: "version = 2\nimports = []\n",
			wantConfig: "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n", wantDropIn: true},
		{name: "the drop-in itself imported", config: "version = 2\nimports = [\"/etc/containerd/conf.d/99-nvidia.toml\"]\n", wantDropIn: true},
		{name: "empty file", config: "# nothing yet\n",
			wantConfig: "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n# nothing yet\n", wantDropIn: true},
		{name: "config.toml already makes nvidia the default: no drop-in", config: containerdV2Right},
		{name: "imports over several lines: refused", config: "version = 2\nimports = [\n  \"/a.toml\",\n]\n", wantErr: ErrUnexpectedShape},
		{name: "imports not an array: refused", config: "version = 2\nimports = \"/a.toml\"\n", wantErr: ErrUnexpectedShape},
		{name: "version 1: refused", config: "root = \"/var/lib/containerd\"\n", wantErr: ErrUnsupportedVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var existing []byte
			if tt.existingRight {
				first, err := PlanContainerdDropIn([]byte(tt.config), nil, RuntimeSpec{}, testGlob)
				if err != nil {
					t.Fatal(err)
				}
				existing = first.DropIn
			}
			p, err := PlanContainerdDropIn([]byte(tt.config), existing, RuntimeSpec{}, testGlob)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.wantConfig == "" {
				if p.ConfigChanged || string(p.Config) != tt.config {
					t.Errorf("config.toml changed:\n%s", p.Config)
				}
			} else if !p.ConfigChanged || string(p.Config) != tt.wantConfig {
				t.Errorf("config.toml (changed %v):\n%s\nwant\n%s", p.ConfigChanged, p.Config, tt.wantConfig)
			}
			if (p.DropIn != nil) != tt.wantDropIn || p.DropInChanged != (tt.wantDropIn && !tt.existingRight) {
				t.Fatalf("drop-in %v (changed %v), want %v", p.DropIn != nil, p.DropInChanged, tt.wantDropIn)
			}
			if p.DropIn == nil {
				return
			}
			// The drop-in is the CRI table of the planned config.toml, which
			// makes nvidia the default: containerd reads the same as from a
			// rewritten config.toml.
			full, _, err := PlanContainerd([]byte(tt.config), RuntimeSpec{})
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := toml.Unmarshal(full, &want); err != nil {
				t.Fatal(err)
			}
			if err := toml.Unmarshal(p.DropIn, &got); err != nil {
				t.Fatalf("drop-in does not parse: %v\n%s", err, p.DropIn)
			}
			plugin, _ := containerdPlugin(want)
			if !equalTOML(got["plugins"].(map[string]any)[plugin], want["plugins"].(map[string]any)[plugin]) || got["version"] != want["version"] {
				t.Errorf("drop-in\n%s\ndoes not hold the planned CRI table of\n%s", p.DropIn, full)
			}
		})
	}
}

func equalTOML(a, b any) bool {
	x, err1 := toml.Marshal(map[string]any{"v": a})
	y, err2 := toml.Marshal(map[string]any{"v": b})
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// FuzzPlanContainerdDropIn: whatever config.toml holds, the plan never
// panics, a changed config.toml decodes as before but for the imports line,
// and a drop-in parses.
func FuzzPlanContainerdDropIn(f *testing.F) {
	for _, s := range []string{containerdV2, containerdV3, containerdV2Right, "", "version = 2\nimports = []\n", "version = 2\nimports = [\"/x\"] # ]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := PlanContainerdDropIn(in, nil, RuntimeSpec{}, testGlob)
		if err != nil {
			return
		}
		if p.ConfigChanged {
			if err := sameButImports(in, p.Config, testGlob); err != nil {
				t.Fatalf("config.toml changed beyond its imports: %v\n%s", err, p.Config)
			}
		}
		if p.DropIn != nil {
			var doc map[string]any
			if err := toml.Unmarshal(p.DropIn, &doc); err != nil {
				t.Fatalf("drop-in does not parse: %v", err)
			}
		}
	})
}
