//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// demoLimit bounds one run of the demo; a warm one takes seconds.
const demoLimit = 4 * time.Minute

// The configuration files the demo must load: the ones deploy/ ships.
const (
	demoSchedulerConfig  = "deploy/base/scheduler/scheduler-config.yaml"
	demoMutatingConfig   = "deploy/base/webhook/mutating.yaml"
	demoValidatingConfig = "deploy/base/webhook/validating.yaml"
)

// demoReport is the demo's --json output, as far as the test reads it.
type demoReport struct {
	SchedulerConfig demoFile     `json:"schedulerConfig"`
	WebhookConfigs  []demoFile   `json:"webhookConfigs"`
	SchedulerName   string       `json:"schedulerName"`
	Results         []demoResult `json:"results"`
}

// demoResult is the outcome of one request.
type demoResult struct {
	Name          string `json:"name"`
	Request       string `json:"request"`
	Outcome       string `json:"outcome"`
	SchedulerName string `json:"schedulerName"`
	Node          string `json:"node"`
	Cards         string `json:"cards"`
	Affinity      string `json:"affinity"`
	Assigned      *struct {
		Node       string `json:"node"`
		Containers []struct {
			Cards []struct {
				Index     int   `json:"index"`
				Cores     int   `json:"cores"`
				MemoryMiB int64 `json:"memoryMiB"`
			} `json:"cards"`
		} `json:"containers"`
	} `json:"assigned"`
	Message string `json:"message"`
}

// demoProfile is a profile of a KubeSchedulerConfiguration.
type demoProfile struct {
	SchedulerName string `json:"schedulerName"`
}

type demoFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// TestDemo runs `make demo`'s program as a user would and checks the facts of its
// table: where each request landed, on which cards, and why the others did not; that
// it loaded the configurations of deploy/; and that it leaves nothing behind, at its
// end or when interrupted.
func TestDemo(t *testing.T) {
	root := repoRoot(t)
	bin := demoBinDir(t, root)

	t.Run("to the end", func(t *testing.T) {
		tmp := t.TempDir()
		jsonPath := filepath.Join(t.TempDir(), "demo.json")
		cmd := demoCommand(root, bin, tmp, "--json", jsonPath)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		code := demoRun(t, cmd, nil)
		t.Logf("demo output:\n%s", out.String())
		if code != 0 {
			t.Fatalf("demo exited %d, want 0", code)
		}
		for _, want := range []string{"REQUEST", "POD", "NODE", "CARDS", "Stopped every program"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q", want)
			}
		}
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var rep demoReport
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatalf("the demo's JSON: %v\n%s", err, data)
		}
		demoCheckConfigs(t, root, rep)
		demoCheckResults(t, rep)
		demoCheckNothingLeft(t, tmp)
	})

	t.Run("interrupted during setup", func(t *testing.T) {
		tmp := t.TempDir()
		cmd := demoCommand(root, bin, tmp)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		var out strings.Builder
		code := demoRun(t, cmd, func() {
			// Interrupt once the control plane runs and the rest is starting.
			s := bufio.NewScanner(stdout)
			interrupted := false
			for s.Scan() {
				out.WriteString(s.Text() + "\n")
				if !interrupted && strings.Contains(s.Text(), "control plane:") {
					if err := cmd.Process.Signal(os.Interrupt); err != nil {
						t.Errorf("interrupting the demo: %v", err)
					}
					interrupted = true
				}
			}
			if !interrupted {
				t.Errorf("the demo never reported its control plane")
			}
		})
		t.Logf("demo output:\n%s%s", out.String(), errOut.String())
		if code != 130 {
			t.Errorf("interrupted demo exited %d, want 130", code)
		}
		if !strings.Contains(out.String(), "Stopped every program") || !strings.Contains(errOut.String(), "interrupted") {
			t.Errorf("the interrupted demo did not report its stop")
		}
		demoCheckNothingLeft(t, tmp)
	})
}

func demoCheckConfigs(t *testing.T, root string, rep demoReport) {
	t.Helper()
	files := append([]demoFile{rep.SchedulerConfig}, rep.WebhookConfigs...)
	want := []string{demoSchedulerConfig, demoMutatingConfig, demoValidatingConfig}
	if len(files) != len(want) {
		t.Fatalf("the demo loaded %+v, want %q", files, want)
	}
	for i, f := range files {
		if f.Path != want[i] {
			t.Errorf("the demo loaded %s, want %s", f.Path, want[i])
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("the demo loaded %s with sha256 %s; the file's is %x", f.Path, f.SHA256, sum)
		}
	}
	// GPU pods name a profile of deploy's configuration: only a scheduler running it
	// could have bound them.
	data, err := os.ReadFile(filepath.Join(root, demoSchedulerConfig))
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Profiles []demoProfile `json:"profiles"`
	}
	if err := yaml.Unmarshal(data, &config); err != nil {
		t.Fatalf("%s: %v", demoSchedulerConfig, err)
	}
	if !slices.ContainsFunc(config.Profiles, func(p demoProfile) bool {
		return p.SchedulerName == rep.SchedulerName
	}) {
		t.Errorf("the demo's pods go to scheduler %q, which %s does not define", rep.SchedulerName, demoSchedulerConfig)
	}
}

func demoCheckResults(t *testing.T, rep demoReport) {
	t.Helper()
	tests := []struct {
		name    string
		outcome string
		node    string
		cards   string
		// vgpuCores are the cores of each card the extender assigned.
		vgpuCores []int
		vgpuMiB   int64
		// affinity is the node labels the webhook's affinity must ask.
		affinity string
		message  *regexp.Regexp
	}{
		{name: "one-t4", outcome: "bound", node: "gpu-t4", cards: "1 x T4"},
		{name: "two-v100", outcome: "bound", node: "gpu-v100", cards: "2 x V100"},
		{name: "one-vgpu", outcome: "bound", node: "vgpu-a100", vgpuCores: []int{100}, vgpuMiB: 80 << 10},
		{name: "half-a100", outcome: "bound", node: "vgpu-a100", vgpuCores: []int{50}, vgpuMiB: 40 << 10},
		// Through HAMi: half of an L4's compute and memory, on a card the
		// extender chose and wrote in HAMi's annotations.
		{name: "half-l4", outcome: "bound", node: "hami-l4", cards: "L4 #0: 50% compute, 12Gi (HAMi)",
			affinity: "gpuplane.io/sharing=hami, gpuplane.io/pool=hami"},
		{name: "mig-small", outcome: "bound", node: "mig-h100", cards: "1 x H100 MIG 1g.10gb",
			affinity: "gpuplane.io/sharing=mig, gpuplane.io/pool=mig"},
		{name: "v100-or-a100", outcome: "bound", node: "gpu-v100", cards: "2 x V100"},
		{name: "notebook", outcome: "bound", node: "gpu-t4", cards: "1 x T4"},
		// Four V100s are left; kube-scheduler or the extender says the node is short.
		{name: "eight-v100", outcome: "pending", message: regexp.MustCompile(`0/5 nodes are available: .*(Insufficient nvidia\.com/gpu|gpu-v100: 4 free V100)`)},
		{name: "bad-syntax", outcome: "refused", message: regexp.MustCompile(`admission webhook "pods\.gpuplane\.io" denied the request: .*"2\(V100"`)},
		{name: "bad-fraction", outcome: "refused", message: regexp.MustCompile(`admission webhook "workloads\.gpuplane\.io" denied the request: .*"1\.5"`)},
	}
	if len(rep.Results) != len(tests) {
		t.Errorf("%d results, want %d", len(rep.Results), len(tests))
	}
	vgpuCards := map[int]string{}
	for _, tt := range tests {
		i := slices.IndexFunc(rep.Results, func(r demoResult) bool {
			return r.Name == tt.name
		})
		if i < 0 {
			t.Errorf("%s: no result", tt.name)
			continue
		}
		r := rep.Results[i]
		if r.Outcome != tt.outcome || r.Node != tt.node {
			t.Errorf("%s (%s): %s on %q, want %s on %q (%s)", tt.name, r.Request, r.Outcome, r.Node, tt.outcome, tt.node, r.Message)
		}
		if tt.message != nil && !tt.message.MatchString(r.Message) {
			t.Errorf("%s (%s): message %q, want it to match %s", tt.name, r.Request, r.Message, tt.message)
		}
		if tt.outcome != "bound" {
			continue
		}
		if r.SchedulerName != rep.SchedulerName {
			t.Errorf("%s: scheduler %q, want %q (the webhook's --scheduler-name)", tt.name, r.SchedulerName, rep.SchedulerName)
		}
		if !strings.Contains(r.Affinity, tt.affinity) {
			t.Errorf("%s: affinity %q, want it to ask %q", tt.name, r.Affinity, tt.affinity)
		}
		if tt.vgpuCores == nil {
			if r.Cards != tt.cards || r.Assigned != nil {
				t.Errorf("%s: cards %q (assigned %+v), want %q and no vGPU assignment", tt.name, r.Cards, r.Assigned, tt.cards)
			}
			continue
		}
		if r.Assigned == nil || r.Assigned.Node != tt.node || len(r.Assigned.Containers) != 1 {
			t.Errorf("%s: assignment %+v, want one container's cards on %s", tt.name, r.Assigned, tt.node)
			continue
		}
		var cores []int
		for _, c := range r.Assigned.Containers[0].Cards {
			cores = append(cores, c.Cores)
			if c.MemoryMiB != tt.vgpuMiB {
				t.Errorf("%s: card %d with %d MiB, want %d", tt.name, c.Index, c.MemoryMiB, tt.vgpuMiB)
			}
			// One whole card and a half do not fit on one card of the node.
			if other, ok := vgpuCards[c.Index]; ok {
				t.Errorf("%s shares card %d with %s, which it does not fit beside", tt.name, c.Index, other)
			}
			vgpuCards[c.Index] = tt.name
		}
		if !slices.Equal(cores, tt.vgpuCores) {
			t.Errorf("%s: cores %v, want %v", tt.name, cores, tt.vgpuCores)
		}
	}
}

// demoCheckNothingLeft checks that the demo removed its directories and left no
// program running: every program it starts names a file in its directory.
func demoCheckNothingLeft(t *testing.T, tmp string) {
	t.Helper()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the demo left %s behind", filepath.Join(tmp, e.Name()))
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Logf("no /proc (%v): not checking for programs left running", err)
		return
	}
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(tmp)) {
			t.Errorf("the demo left process %s running: %s", p.Name(), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// demoBinDir returns a directory with the control-plane programs (linked from where
// `make tools` put them) and gpuplane's programs and the demo, built from this tree.
func demoBinDir(t *testing.T, root string) string {
	t.Helper()
	tools, err := cluster.BinDir()
	if errors.Is(err, cluster.ErrBinariesMissing) && os.Getenv(cluster.EnvSkipMissing) == "1" {
		t.Skipf("%v (%s=1)", err, cluster.EnvSkipMissing)
	}
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, p := range []string{"etcd", "kube-apiserver", "kube-scheduler"} {
		if err := os.Symlink(filepath.Join(tools, p), filepath.Join(bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/webhook", "./cmd/extender", "./cmd/nodeagent", "./hack/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo's programs: %v\n%s", err, out)
	}
	return bin
}

// demoCommand runs the demo from the repository root, its temporary files in tmp.
func demoCommand(root, bin, tmp string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, "demo"), append([]string{"--bin-dir", bin}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	return cmd
}

// demoRun starts cmd, runs during (if any) while it runs, and returns its exit code;
// past demoLimit it is killed and the test fails.
func demoRun(t *testing.T, cmd *exec.Cmd, during func()) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	limit := time.AfterFunc(demoLimit, func() {
		t.Errorf("the demo ran past %s; killing it", demoLimit)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	})
	defer limit.Stop()
	if during != nil {
		during()
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		t.Fatalf("running the demo: %v", err)
		return -1
	}
}
