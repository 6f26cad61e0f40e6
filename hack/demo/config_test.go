package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/test/cluster"
)

const schedulerConfigYAML = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: gpuplane-scheduler
extenders:
  - urlPrefix: http://localhost:8888/gpu
    filterVerb: filter
    bindVerb: bind
    weight: 5
    nodeCacheCapable: true
    managedResources:
      - name: nvidia.com/gpu
        ignoredByScheduler: true
`

func TestWithExtenderAddress(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantURL string
		wantErr string
	}{
		{name: "host replaced, path kept", in: schedulerConfigYAML, wantURL: "http://127.0.0.1:4321/gpu"},
		{name: "not an object", in: "- a\n- b\n", wantErr: "not a YAML object"},
		{name: "another kind", in: strings.Replace(schedulerConfigYAML, "KubeSchedulerConfiguration", "Pod", 1), wantErr: "kind Pod"},
		{name: "no gpuplane profile", in: strings.Replace(schedulerConfigYAML, "gpuplane-scheduler", "default-scheduler", 1), wantErr: `no profile with schedulerName "gpuplane-scheduler"`},
		{name: "no extender", in: schedulerConfigYAML[:strings.Index(schedulerConfigYAML, "extenders:")], wantErr: "0 extenders"},
		{name: "two extenders", in: schedulerConfigYAML + "  - urlPrefix: http://localhost:9999\n", wantErr: "2 extenders"},
		{name: "no urlPrefix", in: strings.Replace(schedulerConfigYAML, "urlPrefix: http://localhost:8888/gpu", "weight: 1", 1), wantErr: "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, replaced, err := withExtenderAddress([]byte(tt.in), "127.0.0.1:4321")
			if tt.wantErr != "" {
				if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want errConfig saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if replaced != "localhost:8888" {
				t.Errorf("replaced %q, want localhost:8888", replaced)
			}
			assertOnlyURLChanged(t, []byte(tt.in), out, tt.wantURL)
		})
	}
}

// assertOnlyURLChanged checks that out is in with the extender's urlPrefix set to
// wantURL, and nothing else changed.
func assertOnlyURLChanged(t *testing.T, in, out []byte, wantURL string) {
	t.Helper()
	var before, after map[string]any
	if err := yaml.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		t.Fatalf("the result is not YAML: %v\n%s", err, out)
	}
	ext := after["extenders"].([]any)[0].(map[string]any)
	if ext["urlPrefix"] != wantURL {
		t.Errorf("urlPrefix %v, want %s", ext["urlPrefix"], wantURL)
	}
	ext["urlPrefix"] = before["extenders"].([]any)[0].(map[string]any)["urlPrefix"]
	if !reflect.DeepEqual(before, after) {
		t.Errorf("more than the urlPrefix changed:\nbefore %v\nafter  %v", before, after)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := cluster.WorkingRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestDeploySchedulerConfiguration checks that the demo can run the scheduler
// configuration of deploy/ with only the extender's address replaced.
func TestDeploySchedulerConfiguration(t *testing.T) {
	f, err := readConfig(repoRoot(t), schedulerConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	out, replaced, err := withExtenderAddress(f.data, "127.0.0.1:4321")
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	var doc struct {
		Extenders []struct {
			URLPrefix string `json:"urlPrefix"`
		} `json:"extenders"`
	}
	if err := yaml.Unmarshal(f.data, &doc); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(doc.Extenders[0].URLPrefix, replaced, "127.0.0.1:4321", 1)
	assertOnlyURLChanged(t, f.data, out, want)
}

// TestDeployWebhookConfigurations checks that the demo registers the webhook
// configurations of deploy/ with only the Service reference replaced by a URL.
func TestDeployWebhookConfigurations(t *testing.T) {
	const base = "https://127.0.0.1:4321"
	root := repoRoot(t)
	mf, err := readConfig(root, mutatingConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := readConfig(root, validatingConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var mOrig admissionregistrationv1.MutatingWebhookConfiguration
	var vOrig admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.Unmarshal(mf.data, &mOrig); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(vf.data, &vOrig); err != nil {
		t.Fatal(err)
	}
	m, err := mutatingConfiguration(mf.data, base)
	if err != nil {
		t.Fatalf("%s: %v", mf.Path, err)
	}
	v, err := validatingConfiguration(vf.data, base)
	if err != nil {
		t.Fatalf("%s: %v", vf.Path, err)
	}
	if len(m.Webhooks) == 0 || len(v.Webhooks) == 0 {
		t.Fatalf("%d mutating and %d validating webhooks, want some of each", len(m.Webhooks), len(v.Webhooks))
	}
	check := func(name string, got, orig *admissionregistrationv1.WebhookClientConfig) {
		t.Helper()
		want := base + *orig.Service.Path
		if got.Service != nil || got.URL == nil || *got.URL != want {
			t.Errorf("webhook %s: client config %+v, want only the URL %s", name, got, want)
		}
		*got = *orig
	}
	for i := range m.Webhooks {
		check(m.Webhooks[i].Name, &m.Webhooks[i].ClientConfig, &mOrig.Webhooks[i].ClientConfig)
	}
	for i := range v.Webhooks {
		check(v.Webhooks[i].Name, &v.Webhooks[i].ClientConfig, &vOrig.Webhooks[i].ClientConfig)
	}
	if !reflect.DeepEqual(*m, mOrig) {
		t.Errorf("the mutating configuration changed beyond its client configs:\n%+v\nwant\n%+v", *m, mOrig)
	}
	if !reflect.DeepEqual(*v, vOrig) {
		t.Errorf("the validating configuration changed beyond its client configs:\n%+v\nwant\n%+v", *v, vOrig)
	}
}

func TestWebhookConfigurationRefused(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "wrong kind", in: "apiVersion: v1\nkind: Service\n", wantErr: "kind \"Service\""},
		{name: "unknown field", in: "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nwebhookz: []\n", wantErr: "webhookz"},
		{name: "URL already", in: "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n" +
			"webhooks:\n- name: a.b.c\n  clientConfig:\n    url: https://x\n", wantErr: "no service reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mutatingConfiguration([]byte(tt.in), "https://127.0.0.1:1")
			if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want errConfig saying %q", err, tt.wantErr)
			}
		})
	}
}
