package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// seedDaemonJSON is a daemon.json as a GPU machine has it before the
// NVIDIA runtime is set up: a private registry and a log driver.
const seedDaemonJSON = `{
    "insecure-registries": ["registry.local:5000"],
    "log-driver": "json-file",
    "log-opts": {
        "max-size": "100m",
        "max-file": "3"
    }
}
`

const seedDaemonJSONWant = `{
    "insecure-registries": ["registry.local:5000"],
    "log-driver": "json-file",
    "log-opts": {
        "max-size": "100m",
        "max-file": "3"
    },
    "runtimes": {
        "nvidia": {
            "path": "nvidia-container-runtime",
            "runtimeArgs": []
        }
    },
    "default-runtime": "nvidia"
}
`

func TestPlanDockerSeed(t *testing.T) {
	out, changed, err := PlanDocker([]byte(seedDaemonJSON), RuntimeSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("seed daemon.json reported as already right")
	}
	if string(out) != seedDaemonJSONWant {
		t.Fatalf("got\n%s\nwant\n%s", out, seedDaemonJSONWant)
	}
}

func TestPlanDocker(t *testing.T) {
	cases := []struct {
		name        string
		in          string
		spec        RuntimeSpec
		wantChanged bool
		// wantKeys is the top-level key order of the output.
		wantKeys []string
		// wantNvidia is runtimes.nvidia of the output, decoded.
		wantNvidia map[string]any
	}{
		{
			name: "empty file", in: "", wantChanged: true,
			wantKeys:   []string{"runtimes", "default-runtime"},
			wantNvidia: map[string]any{"path": "nvidia-container-runtime", "runtimeArgs": []any{}},
		},
		{
			name: "whitespace only", in: " \n\t\n", wantChanged: true,
			wantKeys:   []string{"runtimes", "default-runtime"},
			wantNvidia: map[string]any{"path": "nvidia-container-runtime", "runtimeArgs": []any{}},
		},
		{
			name: "empty object", in: "{}", wantChanged: true,
			wantKeys:   []string{"runtimes", "default-runtime"},
			wantNvidia: map[string]any{"path": "nvidia-container-runtime", "runtimeArgs": []any{}},
		},
		{
			name:        "already right",
			in:          `{"default-runtime":"nvidia","runtimes":{"nvidia":{"path":"nvidia-container-runtime","runtimeArgs":[]}},"debug":true}`,
			wantChanged: false,
			wantKeys:    []string{"default-runtime", "runtimes", "debug"},
			wantNvidia:  map[string]any{"path": "nvidia-container-runtime", "runtimeArgs": []any{}},
		},
		{
			name:        "already right without runtimeArgs",
			in:          `{"runtimes":{"nvidia":{"path":"nvidia-container-runtime"}},"default-runtime":"nvidia"}`,
			wantChanged: false,
			wantKeys:    []string{"runtimes", "default-runtime"},
			wantNvidia:  map[string]any{"path": "nvidia-container-runtime"},
		},
		{
			name:        "escaped but equal strings are right",
			in:          `{"runtimes":{"nvidia":{"path":"nvidia-container-\u0072untime"}},"default-runtime":"nvidi\u0061"}`,
			wantChanged: false,
			wantKeys:    []string{"runtimes", "default-runtime"},
			wantNvidia:  map[string]any{"path": "nvidia-container-runtime"},
		},
		{
			name:        "other default runtime",
			in:          `{"default-runtime":"runc","runtimes":{"nvidia":{"path":"nvidia-container-runtime","runtimeArgs":[]}}}`,
			wantChanged: true,
			wantKeys:    []string{"default-runtime", "runtimes"},
			wantNvidia:  map[string]any{"path": "nvidia-container-runtime", "runtimeArgs": []any{}},
		},
		{
			name:        "wrong path keeps the operator's runtimeArgs",
			in:          `{"runtimes":{"nvidia":{"runtimeArgs":["--debug"],"path":"/opt/old/nvidia-container-runtime"}}}`,
			wantChanged: true,
			wantKeys:    []string{"runtimes", "default-runtime"},
			wantNvidia:  map[string]any{"runtimeArgs": []any{"--debug"}, "path": "nvidia-container-runtime"},
		},
		{
			name:        "custom path",
			in:          `{"runtimes":{"crun":{"path":"/usr/bin/crun"}}}`,
			spec:        RuntimeSpec{Path: "/usr/local/nvidia/toolkit/nvidia-container-runtime"},
			wantChanged: true,
			wantKeys:    []string{"runtimes", "default-runtime"},
			wantNvidia:  map[string]any{"path": "/usr/local/nvidia/toolkit/nvidia-container-runtime", "runtimeArgs": []any{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := PlanDocker([]byte(tc.in), tc.spec)
			if err != nil {
				t.Fatalf("PlanDocker: %v", err)
			}
			if changed != tc.wantChanged {
				t.Fatalf("changed = %v, want %v; output:\n%s", changed, tc.wantChanged, out)
			}
			if !changed && string(out) != tc.in {
				t.Fatalf("unchanged plan returned different bytes:\n%s", out)
			}
			obj, err := parseJSONObject(out)
			if err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
			var keys []string
			for _, m := range obj.members {
				keys = append(keys, m.key)
			}
			if !reflect.DeepEqual(keys, tc.wantKeys) {
				t.Errorf("keys = %q, want %q", keys, tc.wantKeys)
			}
			var doc struct {
				Runtimes       map[string]map[string]any `json:"runtimes"`
				DefaultRuntime string                    `json:"default-runtime"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.DefaultRuntime != "nvidia" {
				t.Errorf("default-runtime = %q", doc.DefaultRuntime)
			}
			if !reflect.DeepEqual(doc.Runtimes["nvidia"], tc.wantNvidia) {
				t.Errorf("runtimes.nvidia = %#v, want %#v", doc.Runtimes["nvidia"], tc.wantNvidia)
			}
			assertDockerKeepsUnrelated(t, []byte(tc.in), out)
			again, changedAgain, err := PlanDocker(out, tc.spec)
			if err != nil || changedAgain || !bytes.Equal(again, out) {
				t.Fatalf("second plan: changed=%v err=%v", changedAgain, err)
			}
		})
	}
}

func TestPlanDockerKeepsOtherRuntimesVerbatim(t *testing.T) {
	in := "{\n\t\"runtimes\": {\n\t\t\"crun\": {\n\t\t\t\"path\":   \"/usr/bin/crun\"\n\t\t}\n\t},\n\t\"data-root\": \"/data/docker\"\n}\n"
	want := "{\n\t\"runtimes\": {\n\t\t\"crun\": {\n\t\t\t\"path\":   \"/usr/bin/crun\"\n\t\t},\n\t\t\"nvidia\": {\n\t\t\t\"path\": \"nvidia-container-runtime\",\n\t\t\t\"runtimeArgs\": []\n\t\t}\n\t},\n\t\"data-root\": \"/data/docker\",\n\t\"default-runtime\": \"nvidia\"\n}\n"
	out, _, err := PlanDocker([]byte(in), RuntimeSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
}

func TestPlanDockerOneLineFile(t *testing.T) {
	in := `{"insecure-registries":["registry.local:5000"],"log-driver":"json-file"}`
	want := "{\n  \"insecure-registries\": [\"registry.local:5000\"],\n  \"log-driver\": \"json-file\",\n  \"runtimes\": {\n    \"nvidia\": {\n      \"path\": \"nvidia-container-runtime\",\n      \"runtimeArgs\": []\n    }\n  },\n  \"default-runtime\": \"nvidia\"\n}\n"
	out, _, err := PlanDocker([]byte(in), RuntimeSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func TestPlanDockerRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"trailing comma", `{"log-driver": "json-file",}`, ErrUnparsable},
		{"truncated", `{"log-driver": `, ErrUnparsable},
		{"not an object", `["nvidia"]`, ErrUnparsable},
		{"a string", `"nvidia"`, ErrUnparsable},
		{"two objects", `{} {}`, ErrUnparsable},
		{"garbage after", `{"a":1} x`, ErrUnparsable},
		{"duplicate key", `{"log-driver":"json-file","log-driver":"local"}`, ErrUnparsable},
		{"comment", "{\n// docker does not allow comments\n}", ErrUnparsable},
		{"runtimes is a list", `{"runtimes":["nvidia"]}`, ErrUnexpectedShape},
		{"runtimes.nvidia is a string", `{"runtimes":{"nvidia":"nvidia-container-runtime"}}`, ErrUnexpectedShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := PlanDocker([]byte(tc.in), RuntimeSpec{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("PlanDocker(%q) = %q, %v, %v; want %v", tc.in, out, changed, err, tc.want)
			}
		})
	}
}

// assertDockerKeepsUnrelated checks that every top-level member other than
// the two the agent owns is present in out with the same bytes, in the same
// relative order.
func assertDockerKeepsUnrelated(t *testing.T, in, out []byte) {
	t.Helper()
	if len(bytes.TrimSpace(in)) == 0 {
		return
	}
	before, err := parseJSONObject(in)
	if err != nil {
		t.Fatalf("input does not parse: %v", err)
	}
	after, err := parseJSONObject(out)
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	owned := map[string]bool{dockerKeyRuntimes: true, dockerKeyDefaultRuntime: true}
	var wantOrder, gotOrder []string
	for _, m := range before.members {
		if owned[m.key] {
			continue
		}
		wantOrder = append(wantOrder, m.key)
		v, ok := after.get(m.key)
		if !ok {
			t.Errorf("key %q lost", m.key)
			continue
		}
		if !bytes.Equal(v, m.value) {
			t.Errorf("key %q changed from %s to %s", m.key, m.value, v)
		}
	}
	for _, m := range after.members {
		if !owned[m.key] {
			gotOrder = append(gotOrder, m.key)
		}
	}
	if !reflect.DeepEqual(wantOrder, gotOrder) {
		t.Errorf("unrelated keys reordered: %q -> %q", wantOrder, gotOrder)
	}
}
