package perf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestMakeSchedulerConfigs(t *testing.T) {
	const good = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: gpuplane-scheduler
extenders:
  - urlPrefix: http://127.0.0.1:8888/gpuplane
    filterVerb: filter
    nodeCacheCapable: true
`
	tests := []struct {
		name    string
		raw     string
		wantErr bool
	}{
		{"one profile", good, false},
		{"the default profile first", strings.Replace(good, "profiles:\n", "profiles:\n  - schedulerName: default-scheduler\n", 1), false},
		{"no extenders", "kind: KubeSchedulerConfiguration\nprofiles:\n  - schedulerName: x\n", true},
		{"no profiles", "kind: KubeSchedulerConfiguration\nextenders:\n  - urlPrefix: http://a:1\n", true},
		{"bad URL", strings.Replace(good, "http://127.0.0.1:8888/gpuplane", "::", 1), true},
		{"another kind", strings.Replace(good, "KubeSchedulerConfiguration", "Pod", 1), true},
		{"not YAML", "{", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := MakeSchedulerConfigs([]byte(tt.raw), "127.0.0.1:4242", 0, 0)
			if tt.wantErr {
				if !errors.Is(err, ErrSchedulerConfig) {
					t.Errorf("err = %v, want ErrSchedulerConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Profile != "gpuplane-scheduler" || c.BaselineProfile != "gpuplane-scheduler-baseline" {
				t.Errorf("profiles %q and %q", c.Profile, c.BaselineProfile)
			}
			var with, without map[string]any
			if err := yaml.Unmarshal(c.WithExtender, &with); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(c.Without, &without); err != nil {
				t.Fatal(err)
			}
			ext := with["extenders"].([]any)[0].(map[string]any)
			if ext["urlPrefix"] != "http://127.0.0.1:4242/gpuplane" || ext["nodeCacheCapable"] != true {
				t.Errorf("extender %v: want the URL pointed at the measured extender, the rest as shipped", ext)
			}
			if _, ok := without["extenders"]; ok {
				t.Error("the baseline configuration keeps extenders")
			}
			for _, p := range without["profiles"].([]any) {
				if name := p.(map[string]any)["schedulerName"].(string); !strings.HasSuffix(name, baselineSuffix) {
					t.Errorf("baseline profile %q not renamed", name)
				}
			}
			if len(c.Extenders) != 1 || c.Extenders[0]["urlPrefix"] != "http://127.0.0.1:8888/gpuplane" {
				t.Errorf("the shipped extender settings are not kept as shipped: %v", c.Extenders)
			}
		})
	}
}

// TestShippedSchedulerConfig checks the end-to-end run can use the
// configuration deploy/ ships.
func TestShippedSchedulerConfig(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := findRoot(wd)
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "base", "scheduler", "scheduler-config.yaml"))
	if err != nil {
		t.Skipf("no shipped scheduler configuration: %v", err)
	}
	c, err := MakeSchedulerConfigs(raw, "127.0.0.1:1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile == "" || c.Profile == "default-scheduler" {
		t.Errorf("the shipped configuration's gpuplane profile is %q", c.Profile)
	}
}

func TestMakeSchedulerConfigsClientLimits(t *testing.T) {
	raw := "kind: KubeSchedulerConfiguration\nprofiles:\n  - schedulerName: g\nextenders:\n  - urlPrefix: http://a:1\n"
	c, err := MakeSchedulerConfigs([]byte(raw), "127.0.0.1:2", 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{"with": c.WithExtender, "without": c.Without} {
		var m struct {
			ClientConnection struct {
				QPS   float32 `json:"qps"`
				Burst int     `json:"burst"`
			} `json:"clientConnection"`
		}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		if m.ClientConnection.QPS != 1000 || m.ClientConnection.Burst != 2000 {
			t.Errorf("%s extender: clientConnection %+v, want qps 1000 burst 2000", name, m.ClientConnection)
		}
	}
}
