package perf

import (
	"errors"
	"fmt"
	"net/url"

	"sigs.k8s.io/yaml"
)

// ErrSchedulerConfig marks a scheduler configuration the run cannot use.
var ErrSchedulerConfig = errors.New("unusable scheduler configuration")

// SchedulerConfigs are the two configurations of the end-to-end run, made
// from the one deploy/ ships: the same with the extender's URL pointing at
// the extender under measurement, and the same without extenders, its
// profiles renamed so that both schedulers run side by side.
type SchedulerConfigs struct {
	WithExtender, Without []byte
	// Profile and BaselineProfile are the scheduler names pods ask for.
	Profile, BaselineProfile string
	// Extenders describes the extenders of the shipped configuration, for
	// the report.
	Extenders []map[string]any
}

// baselineSuffix is added to the profile names of the configuration
// without extenders.
const baselineSuffix = "-baseline"

// MakeSchedulerConfigs derives the two configurations from raw; extender
// is the host:port of the extender under measurement. qps and burst, when
// not 0, set clientConnection of both.
func MakeSchedulerConfigs(raw []byte, extender string, qps float32, burst int) (SchedulerConfigs, error) {
	var out SchedulerConfigs
	with, err := parseConfig(raw)
	if err != nil {
		return out, err
	}
	exts, ok := with["extenders"].([]any)
	if !ok || len(exts) == 0 {
		return out, fmt.Errorf("%w: it names no extenders", ErrSchedulerConfig)
	}
	for i, e := range exts {
		m, ok := e.(map[string]any)
		if !ok {
			return out, fmt.Errorf("%w: extenders[%d] is not an object", ErrSchedulerConfig, i)
		}
		prefix, _ := m["urlPrefix"].(string)
		u, err := url.Parse(prefix)
		if err != nil || u.Host == "" {
			return out, fmt.Errorf("%w: extenders[%d].urlPrefix %q is not a URL", ErrSchedulerConfig, i, prefix)
		}
		out.Extenders = append(out.Extenders, cloneMap(m))
		u.Scheme, u.Host = "http", extender
		m["urlPrefix"] = u.String()
	}
	profiles, ok := with["profiles"].([]any)
	if !ok || len(profiles) == 0 {
		return out, fmt.Errorf("%w: it has no profiles", ErrSchedulerConfig)
	}
	for _, p := range profiles {
		m, _ := p.(map[string]any)
		name, _ := m["schedulerName"].(string)
		if name == "" {
			name = "default-scheduler"
		}
		// gpuplane's profile is the one that is not the default scheduler.
		if out.Profile == "" || out.Profile == "default-scheduler" {
			out.Profile = name
		}
	}
	without, err := parseConfig(raw)
	if err != nil {
		return out, err
	}
	delete(without, "extenders")
	for _, p := range without["profiles"].([]any) {
		m, _ := p.(map[string]any)
		name, _ := m["schedulerName"].(string)
		if name == "" {
			name = "default-scheduler"
		}
		m["schedulerName"] = name + baselineSuffix
	}
	out.BaselineProfile = out.Profile + baselineSuffix
	if qps > 0 {
		for _, doc := range []map[string]any{with, without} {
			conn, _ := doc["clientConnection"].(map[string]any)
			if conn == nil {
				conn = map[string]any{}
				doc["clientConnection"] = conn
			}
			conn["qps"], conn["burst"] = qps, burst
		}
	}
	if out.WithExtender, err = yaml.Marshal(with); err != nil {
		return out, err
	}
	if out.Without, err = yaml.Marshal(without); err != nil {
		return out, err
	}
	return out, nil
}

func parseConfig(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchedulerConfig, err)
	}
	if m["kind"] != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("%w: kind %v, want KubeSchedulerConfiguration", ErrSchedulerConfig, m["kind"])
	}
	return m, nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
