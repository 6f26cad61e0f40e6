package app

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = NewCommand()(t.Context(), args, program.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// TestBadCommandLines: a bad command line prints a message on standard error,
// nothing on standard output, and exits 1, before it reaches any server.
func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nodse"}, `unknown command "nodse"`},
		{[]string{"nodes", "extra"}, `takes no arguments, got ["extra"]`},
		{[]string{"pods", "--no-such-flag"}, "unknown flag: --no-such-flag (see kubectl gpuplane pods --help)"},
		{[]string{"why"}, "takes one POD, got 0 arguments"},
		{[]string{"why", "a", "b"}, "takes one POD, got 2 arguments"},
		{[]string{"explain"}, "takes one REQUEST"},
		{[]string{"nodes", "-o", "table"}, `unknown output format "table": use -o wide, -o json or -o yaml`},
		{[]string{"why", "p", "-o", "wide"}, `unknown output format "wide": use -o json or -o yaml`},
		{[]string{"explain", "1", "-o", "wide"}, `unknown output format "wide": use -o json or -o yaml`},
		{[]string{"nodes", "--catalog", "/nonexistent/catalog.yaml"}, "catalog"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			if code != program.ExitFailure || out != "" || !strings.HasPrefix(errOut, "error: ") || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, no output and an error containing %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestExplainIsTheWebhooks: explain prints what webhook.Explain answers, as
// `webhook explain` does, and a refusal as JSON with exit 2.
func TestExplainIsTheWebhooks(t *testing.T) {
	cat := catalog.Default()
	for _, input := range []string{"2(V100)", "0.5(T4)", "1(VGPU)"} {
		want, err := webhook.Explain(input, "train", cat, webhook.Options{SchedulerName: "gpuplane-scheduler"})
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		code, out, errOut := run(t, "explain", "--role", "train", "--scheduler-name", "gpuplane-scheduler", input)
		if code != 0 || out != string(wantJSON)+"\n" || errOut != "" {
			t.Errorf("explain %s: exit %d, stderr %q, stdout\n%s\nwant\n%s", input, code, errOut, out, wantJSON)
		}
		code, out, _ = run(t, "explain", input, "-o", "yaml", "--role", "train", "--scheduler-name", "gpuplane-scheduler")
		var back webhook.Explanation
		if err := yaml.UnmarshalStrict([]byte(out), &back); code != 0 || err != nil {
			t.Errorf("explain %s -o yaml: exit %d, %v:\n%s", input, code, err, out)
		}
	}
	code, out, errOut := run(t, "explain", "--", "-1")
	var refused webhook.Refused
	if err := json.Unmarshal([]byte(out), &refused); code != exitRefused || err != nil || refused.Input != "-1" ||
		!strings.Contains(refused.Error, `"-1"`) || errOut != "" {
		t.Errorf("explain -- -1: exit %d, stdout %q, stderr %q; want exit 2 and the refusal", code, out, errOut)
	}
}

func TestWriteNodesAndPods(t *testing.T) {
	v := vocabulary(t)
	nodes := []corev1.Node{
		node("gpu-v100", "V100", 4, 32768, false,
			cond(api.ConditionDriverReady, corev1.ConditionTrue, "Loaded"), cond(api.ConditionRuntimeReady, corev1.ConditionTrue, "Configured"),
			cond(api.ConditionDevicePluginReady, corev1.ConditionTrue, "Advertising"), cond(api.ConditionExporterReady, corev1.ConditionTrue, "Serving")),
		node("gpu-vgpu", "T4", 2, 15360, true),
	}
	pods := []corev1.Pod{wholePod("demo", "two-v100", "gpu-v100", 2, "2(V100)"), sharePod("demo", "half", "gpu-vgpu", 50, 30, 1)}
	views := NodeViews(nodes, pods, v)
	var b bytes.Buffer
	if err := WriteNodes(&b, outTable, views); err != nil {
		t.Fatal(err)
	}
	want := `NODE      TYPE  CARDS  WHOLE-FREE  SHARE-FREE  MEMORY-FREE  CONDITIONS
gpu-v100  V100  4      2           -           -            4/4 ready
gpu-vgpu  T4    2      1           1,0.5       15Gi,7.5Gi   0/4 ready Driver=Unknown,Runtime=Unknown,DevicePlugin=Unknown,Exporter=Unknown
`
	if b.String() != want {
		t.Errorf("nodes:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteNodes(&b, outWide, views[:1]); err != nil {
		t.Fatal(err)
	}
	want = `NODE      TYPE  CARDS  WHOLE-FREE  SHARE-FREE  MEMORY-FREE  CONDITIONS                                                                                                    MODE   PODS  PROBLEMS
gpu-v100  V100  4      2           -           -            4/4 ready Driver=True(Loaded),Runtime=True(Configured),DevicePlugin=True(Advertising),Exporter=True(Serving)  whole  1     <none>
`
	if b.String() != want {
		t.Errorf("nodes -o wide:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteNodes(&b, outJSON, views); err != nil {
		t.Fatal(err)
	}
	var back []NodeView
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 2 || back[1].Cards[1].FreeMilli != 500 {
		t.Errorf("nodes -o json does not read back (%v):\n%s", err, b.String())
	}

	b.Reset()
	if err := WritePods(&b, outTable, PodViews(pods, v)); err != nil {
		t.Fatal(err)
	}
	want = `NAMESPACE  NAME      REQUEST  NODE      CARDS        STATE
demo       half      0.5      gpu-vgpu  1:50%/7.5Gi  Running
demo       two-v100  2(V100)  gpu-v100  2 whole      Running
`
	if b.String() != want {
		t.Errorf("pods:\n%s\nwant:\n%s", b.String(), want)
	}
}
