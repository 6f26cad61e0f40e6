package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

// The configurations the demo loads, relative to the repository root: the files an
// operator applies with `kubectl apply -k deploy/default`, read at run time so that
// the demo always shows the configuration that ships.
const (
	schedulerConfigPath  = "deploy/base/scheduler/scheduler-config.yaml"
	mutatingConfigPath   = "deploy/base/webhook/mutating.yaml"
	validatingConfigPath = "deploy/base/webhook/validating.yaml"
)

// schedulerName is the profile GPU pods go to: the webhook's --scheduler-name in
// deploy/base/kustomization.yaml, which the scheduler configuration must define.
const schedulerName = "gpuplane-scheduler"

// errConfig marks a configuration file of deploy/ the demo cannot use as it is.
var errConfig = errors.New("unusable configuration")

// configFile is one file of deploy/ as the demo read it.
type configFile struct {
	// Path is relative to the repository root.
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	data   []byte
}

func readConfig(root, rel string) (configFile, error) {
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return configFile{}, fmt.Errorf("reading %s: %w", rel, err)
	}
	sum := sha256.Sum256(data)
	return configFile{Path: rel, SHA256: hex.EncodeToString(sum[:]), data: data}, nil
}

// withExtenderAddress returns the KubeSchedulerConfiguration raw with the host:port
// of its one extender's urlPrefix set to addr, and nothing else changed; replaced is
// the host:port it had. In a cluster the extender is a sidecar on the pod's loopback
// at a fixed port; here it runs on the host at a free one. The configuration must
// define the profile schedulerName.
func withExtenderAddress(raw []byte, addr string) (config []byte, replaced string, err error) {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, "", fmt.Errorf("%w: not a YAML object: %v", errConfig, err)
	}
	if kind := doc["kind"]; kind != "KubeSchedulerConfiguration" {
		return nil, "", fmt.Errorf("%w: kind %v, want KubeSchedulerConfiguration", errConfig, kind)
	}
	if !hasProfile(doc, schedulerName) {
		return nil, "", fmt.Errorf("%w: no profile with schedulerName %q, which the webhook sends GPU pods to", errConfig, schedulerName)
	}
	extenders, _ := doc["extenders"].([]any)
	if len(extenders) != 1 {
		return nil, "", fmt.Errorf("%w: %d extenders, want exactly one (gpuplane's)", errConfig, len(extenders))
	}
	ext, ok := extenders[0].(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("%w: extenders[0] is %T, want an object", errConfig, extenders[0])
	}
	prefix, _ := ext["urlPrefix"].(string)
	u, err := url.Parse(prefix)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("%w: extender urlPrefix %q is not a URL such as http://localhost:8888", errConfig, prefix)
	}
	replaced, u.Host = u.Host, addr
	ext["urlPrefix"] = u.String()
	config, err = yaml.Marshal(doc)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the scheduler configuration: %w", err)
	}
	return config, replaced, nil
}

func hasProfile(doc map[string]any, name string) bool {
	profiles, _ := doc["profiles"].([]any)
	for _, p := range profiles {
		if p, ok := p.(map[string]any); ok && p["schedulerName"] == name {
			return true
		}
	}
	return false
}

// mutatingConfiguration decodes deploy's MutatingWebhookConfiguration and points
// every webhook at base instead of the in-cluster Service (see onHost).
func mutatingConfiguration(raw []byte, base string) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	var c admissionregistrationv1.MutatingWebhookConfiguration
	if err := decodeKind(raw, "MutatingWebhookConfiguration", &c); err != nil {
		return nil, err
	}
	for i := range c.Webhooks {
		if err := onHost(&c.Webhooks[i].ClientConfig, c.Webhooks[i].Name, base); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// validatingConfiguration is mutatingConfiguration for the validating webhooks.
func validatingConfiguration(raw []byte, base string) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var c admissionregistrationv1.ValidatingWebhookConfiguration
	if err := decodeKind(raw, "ValidatingWebhookConfiguration", &c); err != nil {
		return nil, err
	}
	for i := range c.Webhooks {
		if err := onHost(&c.Webhooks[i].ClientConfig, c.Webhooks[i].Name, base); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func decodeKind(raw []byte, kind string, into any) error {
	var meta struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("%w: not YAML: %w", errConfig, err)
	}
	if meta.Kind != kind {
		return fmt.Errorf("%w: kind %q, want %s", errConfig, meta.Kind, kind)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		return fmt.Errorf("%w: %s: %w", errConfig, kind, err)
	}
	return nil
}

// onHost replaces a webhook's Service reference by the URL base + the Service's
// path: the API server runs on this machine, outside any cluster network, and
// reaches the webhook at https://127.0.0.1:PORT. caBundle stays empty; the webhook
// writes it (--self-signed), as in a cluster.
func onHost(cc *admissionregistrationv1.WebhookClientConfig, webhook, base string) error {
	if cc.Service == nil {
		return fmt.Errorf("%w: webhook %s has no service reference to replace", errConfig, webhook)
	}
	url := base
	if cc.Service.Path != nil {
		url += *cc.Service.Path
	}
	cc.Service, cc.URL, cc.CABundle = nil, &url, nil
	return nil
}
