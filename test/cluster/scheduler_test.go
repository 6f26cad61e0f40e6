package cluster

import (
	"errors"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestSchedulerConfig(t *testing.T) {
	const kubeconfig = "/cluster/kube-scheduler-1/kubeconfig"
	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr error
	}{
		{
			name: "empty gets the default profile",
			raw:  "",
			want: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: ` + kubeconfig + `}
leaderElection: {leaderElect: false}
`,
		},
		{
			name: "extenders and profiles pass through, kubeconfig replaced",
			raw: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /somewhere/else
  qps: 50
profiles:
- schedulerName: gpuplane
extenders:
- urlPrefix: http://127.0.0.1:8888
  filterVerb: filter
  nodeCacheCapable: true
  managedResources:
  - name: nvidia.com/gpu
    ignoredByScheduler: false
`,
			want: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: ` + kubeconfig + `, qps: 50}
leaderElection: {leaderElect: false}
profiles: [{schedulerName: gpuplane}]
extenders:
- urlPrefix: http://127.0.0.1:8888
  filterVerb: filter
  nodeCacheCapable: true
  managedResources: [{name: nvidia.com/gpu, ignoredByScheduler: false}]
`,
		},
		{
			name: "leader election kept when asked for",
			raw:  `{"leaderElection": {"leaderElect": true, "resourceName": "gpuplane"}}`,
			want: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: ` + kubeconfig + `}
leaderElection: {leaderElect: true, resourceName: gpuplane}
`,
		},
		{name: "other kind", raw: "kind: Pod", wantErr: ErrSchedulerConfig},
		{name: "not an object", raw: "- a\n- b", wantErr: ErrSchedulerConfig},
		{name: "client connection not an object", raw: "clientConnection: 3", wantErr: ErrSchedulerConfig},
		{name: "leader election not an object", raw: "leaderElection: [true]", wantErr: ErrSchedulerConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := schedulerConfig([]byte(tt.raw), kubeconfig)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			var gotDoc, wantDoc map[string]any
			if err := yaml.Unmarshal(got, &gotDoc); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, got)
			}
			if err := yaml.Unmarshal([]byte(tt.want), &wantDoc); err != nil {
				t.Fatalf("bad test case: %v", err)
			}
			if !reflect.DeepEqual(gotDoc, wantDoc) {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func FuzzSchedulerConfig(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("kind: KubeSchedulerConfiguration\nprofiles: [{schedulerName: x}]"))
	f.Add([]byte("clientConnection: null\nleaderElection: {}"))
	f.Add([]byte("{]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := schedulerConfig(raw, "/k")
		if err != nil {
			return
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("accepted %q but wrote invalid YAML: %v", raw, err)
		}
		conn, _ := doc["clientConnection"].(map[string]any)
		if conn["kubeconfig"] != "/k" || doc["kind"] != "KubeSchedulerConfiguration" {
			t.Fatalf("accepted %q but wrote %s", raw, out)
		}
	})
}
