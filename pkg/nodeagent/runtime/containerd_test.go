package runtime

import (
	"errors"
	"math"
	"reflect"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// containerdV2 is a version 2 config.toml as kubeadm-prepared nodes have
// it: systemd cgroups for runc, a registry mirror, a sandbox image.
const containerdV2 = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999

[grpc]
  address = "/run/containerd/containerd.sock"
  max_recv_message_size = 16777216

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.local:5000"]
      endpoint = ["http://registry.local:5000"]
`

// containerdV3 is a version 3 config.toml of containerd 2.x.
const containerdV3 = `version = 3
root = '/var/lib/containerd'
imports = ['/etc/containerd/conf.d/*.toml']

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = 'registry.k8s.io/pause:3.10'

[plugins.'io.containerd.cri.v1.runtime']
  enable_cdi = true
  cdi_spec_dirs = ['/etc/cdi', '/var/run/cdi']
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = true
        BinaryName = ''
`

const containerdV2Right = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "nvidia"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
    runtime_type = "io.containerd.runc.v2"
    privileged_without_host_devices = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
      BinaryName = "nvidia-container-runtime"
`

const containerdV3Right = `version = 3
[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'nvidia'
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.nvidia]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.nvidia.options]
      BinaryName = 'nvidia-container-runtime'
`

func TestPlanContainerd(t *testing.T) {
	cases := []struct {
		name        string
		in          string
		wantChanged bool
		wantPlugin  string
		// wantNvidia is the nvidia runtime table of the output.
		wantNvidia map[string]any
	}{
		{
			name: "v2 with runc", in: containerdV2, wantChanged: true, wantPlugin: containerdCRIPluginV2,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"SystemdCgroup": true, "BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "v3 with runc", in: containerdV3, wantChanged: true, wantPlugin: containerdCRIPluginV3,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"SystemdCgroup": true, "BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "empty file", in: "", wantChanged: true, wantPlugin: containerdCRIPluginV2,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "comments only", in: "# managed by hand\n\n", wantChanged: true, wantPlugin: containerdCRIPluginV2,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "v2 already right", in: containerdV2Right, wantChanged: false, wantPlugin: containerdCRIPluginV2,
			wantNvidia: map[string]any{"runtime_type": runcShim, "privileged_without_host_devices": false, "options": map[string]any{"BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "v3 already right", in: containerdV3Right, wantChanged: false, wantPlugin: containerdCRIPluginV3,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"BinaryName": "nvidia-container-runtime"}},
		},
		{
			name: "v2 nvidia with another binary",
			in: `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "nvidia"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
      BinaryName = "/opt/old/nvidia-container-runtime"
      SystemdCgroup = true
`,
			wantChanged: true, wantPlugin: containerdCRIPluginV2,
			wantNvidia: map[string]any{"runtime_type": runcShim, "options": map[string]any{"SystemdCgroup": true, "BinaryName": "nvidia-container-runtime"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := PlanContainerd([]byte(tc.in), RuntimeSpec{})
			if err != nil {
				t.Fatalf("PlanContainerd: %v", err)
			}
			if changed != tc.wantChanged {
				t.Fatalf("changed = %v, want %v; output:\n%s", changed, tc.wantChanged, out)
			}
			if !changed && string(out) != tc.in {
				t.Fatalf("unchanged plan returned different bytes:\n%s", out)
			}
			var doc map[string]any
			if err := toml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
			section := lookupTable(t, doc, "plugins", tc.wantPlugin, "containerd")
			if section["default_runtime_name"] != "nvidia" {
				t.Errorf("default_runtime_name = %v", section["default_runtime_name"])
			}
			nvidia := lookupTable(t, section, "runtimes", "nvidia")
			if !reflect.DeepEqual(nvidia, tc.wantNvidia) {
				t.Errorf("nvidia runtime = %#v, want %#v", nvidia, tc.wantNvidia)
			}
			assertContainerdKeepsUnrelated(t, []byte(tc.in), out, tc.wantPlugin)
			again, changedAgain, err := PlanContainerd(out, RuntimeSpec{})
			if err != nil || changedAgain || string(again) != string(out) {
				t.Fatalf("second plan: changed=%v err=%v\n%s", changedAgain, err, again)
			}
		})
	}
}

func TestPlanContainerdKeepsRunc(t *testing.T) {
	out, _, err := PlanContainerd([]byte(containerdV2), RuntimeSpec{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	runc := lookupTable(t, doc, "plugins", containerdCRIPluginV2, "containerd", "runtimes", "runc")
	want := map[string]any{"runtime_type": runcShim, "options": map[string]any{"SystemdCgroup": true}}
	if !reflect.DeepEqual(runc, want) {
		t.Fatalf("runc runtime changed to %#v (copying it must not alias)", runc)
	}
}

func TestPlanContainerdRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"not toml", "version = 2\n[plugins\n", ErrUnparsable},
		{"duplicate table", "version = 2\n[a]\nx=1\n[a]\ny=2\n", ErrUnparsable},
		{"version 1 implied", "root = \"/var/lib/containerd\"\n", ErrUnsupportedVersion},
		{"version 1", "version = 1\n", ErrUnsupportedVersion},
		{"version 4", "version = 4\n", ErrUnsupportedVersion},
		{"version string", "version = \"2\"\n", ErrUnsupportedVersion},
		{"plugins not a table", "version = 2\nplugins = 3\n", ErrUnexpectedShape},
		{"runtimes an array", "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\nruntimes = [1]\n", ErrUnexpectedShape},
		{"nvidia a string", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\nnvidia = \"x\"\n", ErrUnexpectedShape},
		{"options a string", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia]\noptions = \"x\"\n", ErrUnexpectedShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := PlanContainerd([]byte(tc.in), RuntimeSpec{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("PlanContainerd(%q) = %q, %v; want %v", tc.in, out, err, tc.want)
			}
		})
	}
}

func lookupTable(t *testing.T, doc map[string]any, path ...string) map[string]any {
	t.Helper()
	cur := doc
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("no table %q on the way to %q", k, path)
		}
		cur = next
	}
	return cur
}

// assertContainerdKeepsUnrelated checks that in and out are equal once the
// keys the agent owns are taken out of both.
func assertContainerdKeepsUnrelated(t *testing.T, in, out []byte, plugin string) {
	t.Helper()
	var before, after map[string]any
	if err := toml.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	stripOwned(before, plugin)
	stripOwned(after, plugin)
	if len(before) == 0 { // an empty file gains the version key
		delete(after, "version")
	}
	if !tomlEqual(before, after) {
		t.Fatalf("unrelated content changed:\nbefore %#v\nafter  %#v", before, after)
	}
}

// stripOwned removes what PlanContainerd may add or set, and the tables
// that are left empty by that.
func stripOwned(doc map[string]any, plugin string) {
	plugins, _ := doc["plugins"].(map[string]any)
	p, _ := plugins[plugin].(map[string]any)
	section, _ := p["containerd"].(map[string]any)
	runtimes, _ := section["runtimes"].(map[string]any)
	delete(runtimes, "nvidia")
	delete(section, "default_runtime_name")
	for _, prune := range []struct {
		parent map[string]any
		key    string
	}{{section, "runtimes"}, {p, "containerd"}, {plugins, plugin}, {doc, "plugins"}} {
		if m, ok := prune.parent[prune.key].(map[string]any); ok && len(m) == 0 {
			delete(prune.parent, prune.key)
		}
	}
}

// tomlEqual is reflect.DeepEqual for decoded TOML, except that NaN equals
// NaN: TOML writes it as nan, and it must survive the rewrite like any value.
func tomlEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !tomlEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !tomlEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	}
	return reflect.DeepEqual(a, b)
}
