//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	extender "github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// kubectlAsk is one of the demo's requests (hack/demo/scenario.go), admitted
// by the webhook's own Mutate and placed by the real kube-scheduler with the
// extender.
type kubectlAsk struct {
	name, gpu, role string
	// node is where it must land; "" for a pod that waits.
	node string
}

// The JSON of `kubectl gpuplane nodes|pods|why -o json`, as docs/kubectl.md
// describes it; decoded strictly, so that a field the docs do not know fails.
type (
	kubectlNode struct {
		Name       string        `json:"name"`
		Type       string        `json:"type"`
		Mode       string        `json:"mode"`
		WholeFree  int           `json:"wholeFree"`
		Cards      []kubectlCard `json:"cards"`
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
		Pods     int      `json:"pods"`
		Problems []string `json:"problems"`
	}
	kubectlCard struct {
		Index      int    `json:"index"`
		Type       string `json:"type"`
		MemoryMiB  int64  `json:"memoryMiB"`
		UsedMilli  int64  `json:"usedMilli"`
		UsedMemMiB int64  `json:"usedMemoryMiB"`
		FreeMilli  int64  `json:"freeMilli"`
		FreeMemMiB int64  `json:"freeMemoryMiB"`
	}
	kubectlPod struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Request   string `json:"request"`
		Node      string `json:"node"`
		Cards     string `json:"cards"`
		State     string `json:"state"`
		Scheduler string `json:"scheduler"`
		Problem   string `json:"problem,omitempty"`
	}
	kubectlWhy struct {
		Namespace  string          `json:"namespace"`
		Name       string          `json:"name"`
		Request    string          `json:"request"`
		State      string          `json:"state"`
		Node       string          `json:"node,omitempty"`
		Cards      string          `json:"cards,omitempty"`
		Assignment *api.Assignment `json:"assignment,omitempty"`
		Bound      string          `json:"bound,omitempty"`
		Pending    *struct {
			Message    string               `json:"message"`
			Count      int32                `json:"count"`
			Nodes      int                  `json:"nodes"`
			Groups     []kubectlReasonGroup `json:"groups"`
			Preemption string               `json:"preemption,omitempty"`
		} `json:"pending,omitempty"`
	}
	kubectlReasonGroup struct {
		Reason    string   `json:"reason"`
		NodeCount int      `json:"nodeCount"`
		Nodes     []string `json:"nodes"`
	}
)

// TestKubectlGpuplane runs `kubectl gpuplane` (the program, built from this
// tree, with --kubeconfig) on the demo's cluster after the demo's requests: the
// nodes' free cards and conditions, the GPU pods, why the pod that waits
// waits and where a vGPU pod landed, each asserted field by field; -o json
// parses; a bad command line gets a message and exit 1.
func TestKubectlGpuplane(t *testing.T) {
	plugin := kubectlBuild(t)
	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	cat := catalog.Default()
	addDemoNodes(ctx, t, c, cat)
	// The node agent's conditions, as it writes them: all ready on gpu-v100,
	// no exporter on gpu-t4, none yet on vgpu-a100.
	kubectlSetConditions(ctx, t, client, "gpu-v100", map[string]corev1.ConditionStatus{
		api.ConditionDriverReady: corev1.ConditionTrue, api.ConditionRuntimeReady: corev1.ConditionTrue,
		api.ConditionDevicePluginReady: corev1.ConditionTrue, api.ConditionExporterReady: corev1.ConditionTrue,
	})
	kubectlSetConditions(ctx, t, client, "gpu-t4", map[string]corev1.ConditionStatus{
		api.ConditionDriverReady: corev1.ConditionTrue, api.ConditionRuntimeReady: corev1.ConditionTrue,
		api.ConditionDevicePluginReady: corev1.ConditionTrue, api.ConditionExporterReady: corev1.ConditionFalse,
	})

	ext := extStart(t, c, "127.0.0.1:0", extender.DefaultOptions())
	if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{Config: extSchedulerConfig(t, ext.addr)}); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(ctx, t, client, "demo")
	// A pod without GPUs, which `pods` leaves out.
	createNamespace(ctx, t, client, "web")
	if _, err := client.CoreV1().Pods("web").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "none"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	asks := []kubectlAsk{
		{name: "one-t4", gpu: "1(T4)", node: "gpu-t4"},
		{name: "two-v100", gpu: "2(V100)", node: "gpu-v100"},
		{name: "one-vgpu", gpu: "1(VGPU)", node: "vgpu-a100"},
		{name: "half-a100", gpu: "0.5(A100)", node: "vgpu-a100"},
		{name: "v100-or-a100", gpu: "2(V100|A100)", node: "gpu-v100"},
		{name: "notebook", gpu: "1", role: "notebook", node: "gpu-t4"},
		{name: "eight-v100", gpu: "8(V100)"},
	}
	// One after the other, each waiting for its outcome, as the demo submits
	// them, so that every run places them alike.
	for _, a := range asks {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: ns, Annotations: map[string]string{api.AnnotationGPU: a.gpu}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "none"}}},
		}
		if a.role != "" {
			pod.Annotations[api.AnnotationRole] = a.role
		}
		admitted, err := webhook.Mutate(pod, cat, webhook.Options{SchedulerName: extSchedulerName})
		if err != nil {
			t.Fatalf("the webhook refuses %s: %v", a.gpu, err)
		}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, admitted, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if a.node == "" {
			waitFailedScheduling(ctx, t, client, admitted)
			continue
		}
		if got := waitBound(ctx, t, client, admitted); got != a.node {
			t.Fatalf("%s (%s) landed on %s, want %s", a.name, a.gpu, got, a.node)
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[string]api.Assignment{}
	for _, p := range pods.Items {
		if raw, ok := p.Annotations[api.AnnotationAssigned]; ok {
			a, err := api.DecodeAssignment(raw)
			if err != nil {
				t.Fatalf("pod %s: %v", p.Name, err)
			}
			assigned[p.Name] = a
		}
	}
	kubeconfig := []string{"--kubeconfig", c.KubeconfigPath()}

	t.Run("nodes", func(t *testing.T) {
		out := kubectlRun(t, plugin, 0, append(kubeconfig, "nodes")...)
		t.Logf("kubectl gpuplane nodes:\n%s", out)
		var views []kubectlNode
		kubectlJSON(t, kubectlRun(t, plugin, 0, append(kubeconfig, "nodes", "-o", "json")...), &views)
		byName := map[string]kubectlNode{}
		for _, v := range views {
			byName[v.Name] = v
		}
		if len(views) != 3 {
			t.Fatalf("%d nodes, want the 3 GPU nodes: %+v", len(views), views)
		}
		for _, want := range []struct {
			name, typ, mode  string
			cards, wholeFree int
			pods             int
			conditions       []string
		}{
			// 8 V100: two-v100 and v100-or-a100 take 2 each.
			{"gpu-v100", "V100", "whole", 8, 4, 2, []string{"True", "True", "True", "True"}},
			// 2 T4: one-t4 and the notebook take 1 each.
			{"gpu-t4", "T4", "whole", 2, 0, 2, []string{"True", "True", "True", "False"}},
			// 4 A100 through vGPU: one-vgpu takes a card, half-a100 half of another.
			{"vgpu-a100", "A100", "vgpu", 4, 2, 2, []string{"Unknown", "Unknown", "Unknown", "Unknown"}},
		} {
			v, ok := byName[want.name]
			if !ok {
				t.Errorf("node %s missing", want.name)
				continue
			}
			var conds []string
			for _, c := range v.Conditions {
				conds = append(conds, c.Status)
			}
			if v.Type != want.typ || v.Mode != want.mode || len(v.Cards) != want.cards || v.WholeFree != want.wholeFree ||
				v.Pods != want.pods || !slices.Equal(conds, want.conditions) || len(v.Problems) != 0 {
				t.Errorf("node %s: %+v, want type %s, mode %s, %d cards, %d whole free, %d pods, conditions %v, no problems",
					want.name, v, want.typ, want.mode, want.cards, want.wholeFree, want.pods, want.conditions)
			}
		}
		// Each vGPU card is short of what the extender's assignments put on it.
		a100 := byName["vgpu-a100"]
		for _, card := range a100.Cards {
			var milli, mem int64
			for _, a := range assigned {
				for _, ca := range a.Containers {
					for _, s := range ca.Cards {
						if s.Index == card.Index {
							milli += int64(s.Cores) * 10
							mem += s.MemoryMiB
						}
					}
				}
			}
			if card.FreeMilli != 1000-milli || card.FreeMemMiB != card.MemoryMiB-mem || card.MemoryMiB != 81920 {
				t.Errorf("vgpu-a100 card %d: %+v, want %d milli and %d MiB free of 81920", card.Index, card, 1000-milli, 81920-mem)
			}
		}
		frees := make([]int64, 0, 4)
		for _, card := range a100.Cards {
			frees = append(frees, card.FreeMilli)
		}
		slices.Sort(frees)
		if !slices.Equal(frees, []int64{0, 500, 1000, 1000}) {
			t.Errorf("vgpu-a100's free shares %v, want a card taken, one half taken and two free", frees)
		}
		// The table says the same, row by row.
		rows := kubectlRows(t, out)
		for _, want := range [][]string{
			{"gpu-t4", "T4", "2", "0", "-", "-", "3/4", "ready", "Exporter=False"},
			{"gpu-v100", "V100", "8", "4", "-", "-", "4/4", "ready"},
			{"vgpu-a100", "A100", "4", "2", kubectlShares(a100.Cards), kubectlMemories(a100.Cards), "0/4", "ready"},
		} {
			if row := rows[want[0]]; len(row) < len(want) || !slices.Equal(row[:len(want)], want) {
				t.Errorf("nodes row %q, want it to start %q", row, want)
			}
		}
		wide := kubectlRows(t, kubectlRun(t, plugin, 0, append(kubeconfig, "nodes", "-o", "wide")...))
		if row := wide["vgpu-a100"]; !slices.Contains(row, "vgpu") {
			t.Errorf("nodes -o wide row %q lacks the mode vgpu", row)
		}
	})

	t.Run("pods", func(t *testing.T) {
		out := kubectlRun(t, plugin, 0, append(kubeconfig, "pods")...)
		t.Logf("kubectl gpuplane pods:\n%s", out)
		var views []kubectlPod
		kubectlJSON(t, kubectlRun(t, plugin, 0, append(kubeconfig, "pods", "-o", "json")...), &views)
		if len(views) != len(asks) {
			t.Fatalf("%d pods, want the %d GPU pods and not nginx: %+v", len(views), len(asks), views)
		}
		byName := map[string]kubectlPod{}
		for _, v := range views {
			byName[v.Name] = v
		}
		for _, a := range asks {
			v := byName[a.name]
			wantCards := ""
			switch {
			case a.node == "":
			case a.node == "vgpu-a100":
				var cards []string
				for _, s := range assigned[a.name].Containers[0].Cards {
					cards = append(cards, fmt.Sprintf("%d:%d%%/%dGi", s.Index, s.Cores, s.MemoryMiB/1024))
				}
				wantCards = strings.Join(cards, ",")
			case a.gpu == "1(T4)" || a.gpu == "1":
				wantCards = "1 whole"
			default:
				wantCards = "2 whole"
			}
			wantState := "Pending"
			if a.node == "" {
				wantState = "Pending (Unschedulable)"
			}
			want := kubectlPod{Namespace: "demo", Name: a.name, Request: a.gpu, Node: a.node, Cards: wantCards,
				State: wantState, Scheduler: extSchedulerName}
			if v != want {
				t.Errorf("pod %s:\n got %+v\nwant %+v", a.name, v, want)
			}
		}
		rows := kubectlRows(t, out)
		if row := rows["demo"]; len(row) == 0 {
			t.Errorf("pods table has no row of namespace demo:\n%s", out)
		}
		if !strings.Contains(out, "half-a100  0.5(A100)  vgpu-a100") && !strings.Contains(strings.Join(strings.Fields(out), " "), "half-a100 0.5(A100) vgpu-a100") {
			t.Errorf("pods table lacks half-a100's request and node:\n%s", out)
		}
		// -n limits the list to the namespace; nginx's has no GPU pod.
		if out := kubectlRun(t, plugin, 0, append(kubeconfig, "pods", "-n", "web")...); strings.TrimSpace(out) != "NAMESPACE  NAME  REQUEST  NODE  CARDS  STATE" {
			t.Errorf("pods -n web:\n%s\nwant only the header", out)
		}
	})

	t.Run("why", func(t *testing.T) {
		out := kubectlRun(t, plugin, 0, append(kubeconfig, "why", "-n", "demo", "eight-v100")...)
		t.Logf("kubectl gpuplane why eight-v100:\n%s", out)
		var w kubectlWhy
		kubectlJSON(t, kubectlRun(t, plugin, 0, append(kubeconfig, "why", "demo/eight-v100", "-o", "json")...), &w)
		if w.Node != "" || w.Request != "8(V100)" || w.Pending == nil {
			t.Fatalf("why eight-v100: %+v, want a pending pod with the scheduler's diagnosis", w)
		}
		d := w.Pending
		if d.Nodes != 3 || d.Count < 1 {
			t.Errorf("why eight-v100: %d nodes, reported %d times; want 3 nodes, at least once", d.Nodes, d.Count)
		}
		// gpu-v100 is refused for its 4 free V100, by the extender (which
		// names the node) or by kube-scheduler's own resource check, which
		// runs first when it sees the device plugin's count short (as the
		// demo's test accepts either); the other two are not V100 nodes.
		affinity := kubectlReasonGroup{Reason: "node(s) didn't match Pod's node affinity/selector", NodeCount: 2, Nodes: []string{}}
		byExtender := []kubectlReasonGroup{affinity, {Reason: "4 free V100, pod needs 8", NodeCount: 1, Nodes: []string{"gpu-v100"}}}
		byScheduler := []kubectlReasonGroup{affinity, {Reason: "Insufficient nvidia.com/gpu", NodeCount: 1, Nodes: []string{}}}
		want := byExtender
		if !strings.Contains(d.Message, "gpu-v100: ") {
			want = byScheduler
		}
		if !kubectlSameGroups(d.Groups, want) {
			t.Errorf("why eight-v100 groups %+v, want %+v (message %q)", d.Groups, want, d.Message)
		}
		text := strings.Join(strings.Fields(out), " ")
		for _, g := range want {
			line := fmt.Sprint(g.NodeCount) + " " + g.Reason
			if len(g.Nodes) > 0 {
				line = strings.Join(g.Nodes, ",") + " " + g.Reason
			}
			if !strings.Contains(text, line) {
				t.Errorf("why eight-v100 text lacks %q:\n%s", line, out)
			}
		}

		kubectlWaitEvent(ctx, t, client, ns, "half-a100", "Scheduled")
		out = kubectlRun(t, plugin, 0, append(kubeconfig, "why", "--namespace=demo", "half-a100")...)
		t.Logf("kubectl gpuplane why half-a100:\n%s", out)
		w = kubectlWhy{}
		kubectlJSON(t, kubectlRun(t, plugin, 0, append(kubeconfig, "-n", "demo", "why", "half-a100", "-o", "json")...), &w)
		a := assigned["half-a100"]
		if w.Node != "vgpu-a100" || w.Assignment == nil || w.Assignment.Node != "vgpu-a100" ||
			len(w.Assignment.Containers) != 1 || !slices.Equal(w.Assignment.Containers[0].Cards, a.Containers[0].Cards) ||
			w.Bound != "Successfully assigned demo/half-a100 to vgpu-a100" || w.Pending != nil {
			t.Errorf("why half-a100: %+v, want node vgpu-a100, its assignment %+v and its Scheduled event", w, a)
		}
		if !strings.Contains(out, "on node vgpu-a100") || !strings.Contains(out, "Scheduled: Successfully assigned demo/half-a100 to vgpu-a100") {
			t.Errorf("why half-a100 text:\n%s", out)
		}
	})

	t.Run("bad command lines", func(t *testing.T) {
		for _, args := range [][]string{
			{"nodes", "extra"},
			{"why"},
			{"pods", "-o", "xml"},
			{"nodse"},
			{"--no-such-flag", "nodes"},
			{"why", "-n", "demo", "no-such-pod"},
			{"--context", "no-such-context", "nodes"},
		} {
			code, out, errOut := kubectlExec(t, plugin, append(kubeconfig, args...)...)
			if code != 1 || out.Len() != 0 || !strings.HasPrefix(errOut.String(), "error: ") {
				t.Errorf("kubectl gpuplane %q: exit %d, stdout %q, stderr %q; want exit 1 and a message", args, code, out.String(), errOut.String())
			}
		}
	})
}

// kubectlBuild builds the plugin from this tree. It runs as its own
// program, as kubectl runs it; linked into this test binary beside the node
// agent's go-nvml, the binary did not start on a machine without the driver
// ("undefined symbol: nvmlDeviceGetDramEncryptionMode"), a cause not yet
// pinned down.
func kubectlBuild(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/kubectl-gpuplane")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-gpuplane: %v\n%s", err, out)
	}
	return filepath.Join(dir, "kubectl-gpuplane")
}

// kubectlExec runs the plugin and returns its exit code and output.
func kubectlExec(t *testing.T, plugin string, args ...string) (code int, stdout, stderr *bytes.Buffer) {
	t.Helper()
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd := exec.CommandContext(t.Context(), plugin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout, stderr
	case err != nil:
		t.Fatalf("running kubectl-gpuplane %q: %v", args, err)
	}
	return 0, stdout, stderr
}

// kubectlRun runs `kubectl gpuplane args...` and returns its standard
// output; its exit code must be code and standard error empty.
func kubectlRun(t *testing.T, plugin string, code int, args ...string) string {
	t.Helper()
	got, out, errOut := kubectlExec(t, plugin, args...)
	if got != code || errOut.Len() != 0 {
		t.Fatalf("kubectl gpuplane %q: exit %d, want %d; stderr %q", args, got, code, errOut.String())
	}
	return out.String()
}

func kubectlJSON(t *testing.T, out string, into any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("the -o json output does not parse: %v\n%s", err, out)
	}
}

// kubectlRows splits a table into its rows' fields, by their first field.
func kubectlRows(t *testing.T, table string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[0]] = f
	}
	return rows
}

func kubectlSameGroups(got, want []kubectlReasonGroup) bool {
	return slices.EqualFunc(got, want, func(a, b kubectlReasonGroup) bool {
		return a.Reason == b.Reason && a.NodeCount == b.NodeCount && slices.Equal(a.Nodes, b.Nodes)
	})
}

// kubectlSetConditions writes node conditions as the node agent does.
func kubectlSetConditions(ctx context.Context, t *testing.T, client kubernetes.Interface, name string, conds map[string]corev1.ConditionStatus) {
	t.Helper()
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for typ, status := range conds {
		node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
			Type: corev1.NodeConditionType(typ), Status: status, Reason: "Checked", Message: typ + " checked",
			LastHeartbeatTime: now, LastTransitionTime: now,
		})
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// kubectlWaitEvent waits for an event of the pod with that reason.
func kubectlWaitEvent(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, pod, reason string) {
	t.Helper()
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": pod, "reason": reason}.AsSelector().String()
	err := wait.PollUntilContextTimeout(ctx, pollInterval, scheduleLimit, true, func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		return err == nil && len(evs.Items) > 0, err
	})
	if err != nil {
		t.Fatalf("no %s event of pod %s/%s: %v", reason, ns, pod, err)
	}
}

// kubectlShares and kubectlMemories write the free shares and memory of
// cards as the nodes table does (all of the demo's amounts are whole Gi).
func kubectlShares(cards []kubectlCard) string {
	var out []string
	for _, c := range cards {
		out = append(out, strconv.FormatFloat(float64(c.FreeMilli)/1000, 'f', -1, 64))
	}
	return strings.Join(out, ",")
}

func kubectlMemories(cards []kubectlCard) string {
	var out []string
	for _, c := range cards {
		if c.FreeMemMiB == 0 {
			out = append(out, "0Mi")
			continue
		}
		out = append(out, fmt.Sprintf("%dGi", c.FreeMemMiB/1024))
	}
	return strings.Join(out, ",")
}

// addDemoNodes adds the demo's GPU nodes (hack/demo/scenario.go) to c, as
// the node agent, the device plugin and the vGPU manager leave them.
func addDemoNodes(ctx context.Context, t *testing.T, c *cluster.Cluster, cat *catalog.Catalog) {
	t.Helper()
	for _, n := range []struct {
		extNode
		labels map[string]string
	}{
		{extNode: extNode{name: "gpu-v100", cards: 8, typ: "V100"}},
		{extNode: extNode{name: "gpu-t4", cards: 2, typ: "T4"}, labels: map[string]string{"notebook": "true"}},
		{extNode: extNode{name: "vgpu-a100", cards: 4, typ: "A100", vgpu: true}},
	} {
		spec := n.spec(t, cat)
		for k, v := range n.labels {
			spec.Labels[k] = v
		}
		if _, err := c.AddGPUNode(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
}
