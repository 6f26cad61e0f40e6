package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/nodeagent/runtime"
)

type countingRunner struct {
	calls [][]string
	err   error
}

func (r *countingRunner) Run(_ context.Context, argv []string) ([]byte, error) {
	r.calls = append(r.calls, argv)
	return nil, r.err
}

// newTestRuntimeStep is the runtime step of opts with a counting runner.
func newTestRuntimeStep(opts Options, diffs *bytes.Buffer, hint string) (*runtimeStep, *countingRunner) {
	rc := opts.runtimeConfig()
	rc.FixHint = hint
	if diffs != nil {
		rc.Diffs = diffs
	}
	runner := &countingRunner{}
	c := &runtime.Configurator{Spec: rc.Spec, Runner: runner, Restart: opts.RestartRuntime}
	return newRuntimeStep(rc, c, nil), runner
}

func TestRuntimeStepApplyWithoutRestart(t *testing.T) {
	opts, path := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime = true
	step, runner := newTestRuntimeStep(opts, nil, "")
	for pass := range 2 {
		r, transient := step.run(context.Background())
		if r.Verdict != NotReady || r.Reason != "RestartNeeded" || transient {
			t.Fatalf("pass %d: %+v", pass, r)
		}
		if !strings.Contains(r.Message, "restart docker to load it") {
			t.Errorf("pass %d: message %q", pass, r.Message)
		}
	}
	if len(runner.calls) != 0 {
		t.Fatalf("restarted without --restart-runtime: %q", runner.calls)
	}
	content, _ := os.ReadFile(path)
	if !strings.Contains(string(content), `"default-runtime": "nvidia"`) || !strings.Contains(string(content), `"insecure-registries": ["registry.local:5000"]`) {
		t.Fatalf("file after apply:\n%s", content)
	}
}

func TestRuntimeStepApplyWithRestart(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime, opts.RestartRuntime = true, true
	step, runner := newTestRuntimeStep(opts, nil, "")
	first, _ := step.run(context.Background())
	if first.Verdict != Ready || first.Reason != "RuntimeConfigured" || !strings.Contains(first.Message, "makes nvidia the default runtime (updated by the agent (previous content in ") ||
		!strings.Contains(first.Message, "docker restarted") {
		t.Fatalf("first pass: %+v", first)
	}
	if second, _ := step.run(context.Background()); second != first {
		t.Fatalf("second pass differs, so it would be patched again:\n%+v\n%+v", second, first)
	}
	if len(runner.calls) != 1 || strings.Join(runner.calls[0], " ") != "systemctl restart docker" {
		t.Fatalf("restarts: %q, want one systemctl restart docker", runner.calls)
	}
}

func TestRuntimeStepRestartFails(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime, opts.RestartRuntime = true, true
	step, runner := newTestRuntimeStep(opts, nil, "")
	runner.err = errors.New("Failed to restart docker.service: Unit docker.service not found.")
	r, transient := step.run(context.Background())
	if r.Reason != "RestartFailed" || !transient || !strings.Contains(r.Message, "docker.service not found") {
		t.Fatalf("pass: %+v, transient %v", r, transient)
	}
	// The file is right now, but the runtime never loaded it.
	runner.err = nil
	r, _ = step.run(context.Background())
	if r.Reason != "RestartNeeded" {
		t.Fatalf("after a failed restart: %+v", r)
	}
}

func TestRuntimeStepCheckOnly(t *testing.T) {
	opts, path := runtimeFiles(t, seedDaemonJSON)
	var diffs bytes.Buffer
	step, _ := newTestRuntimeStep(opts, &diffs, "`nodeagent check --apply` writes it")
	for range 2 {
		r, _ := step.run(context.Background())
		if r.Reason != "ConfigNeedsChange" || !strings.HasSuffix(r.Message, "`nodeagent check --apply` writes it") {
			t.Fatalf("pass: %+v", r)
		}
	}
	if n := strings.Count(diffs.String(), "+++ "); n != 1 {
		t.Fatalf("diff written %d times over two passes, want once:\n%s", n, diffs.String())
	}
	if !strings.Contains(diffs.String(), `+  "default-runtime": "nvidia"`) {
		t.Errorf("diff:\n%s", diffs.String())
	}
	content, _ := os.ReadFile(path)
	if string(content) != seedDaemonJSON {
		t.Fatal("checking wrote the file")
	}
}

func TestRuntimeStepBinaryMissing(t *testing.T) {
	opts, path := runtimeFiles(t, seedDaemonJSON)
	opts.ApplyRuntime = true
	opts.RuntimeSearchPaths = []string{t.TempDir()}
	step, _ := newTestRuntimeStep(opts, nil, "")
	r, _ := step.run(context.Background())
	if r.Reason != "RuntimeBinaryMissing" || !strings.Contains(r.Message, "not changed until it is installed") {
		t.Fatalf("pass: %+v", r)
	}
	content, _ := os.ReadFile(path)
	if string(content) != seedDaemonJSON {
		t.Fatal("a runtime whose binary is missing was made the default")
	}
}

func TestRuntimeStepCorruptFile(t *testing.T) {
	corrupt := `{"insecure-registries": ["registry.local:5000"],}`
	opts, path := runtimeFiles(t, corrupt)
	opts.ApplyRuntime = true
	before, _ := os.Stat(path)
	step, _ := newTestRuntimeStep(opts, nil, "")
	r, transient := step.run(context.Background())
	if r.Verdict != NotReady || r.Reason != "ConfigUnparsable" || transient || !strings.Contains(r.Message, "left untouched because it does not parse") {
		t.Fatalf("pass: %+v", r)
	}
	after, _ := os.Stat(path)
	content, _ := os.ReadFile(path)
	if string(content) != corrupt || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("corrupt file touched")
	}
}

func TestRuntimeStepTargets(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "nvidia-container-runtime"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	base := Options{
		DockerConfig:       filepath.Join(dir, "docker", "daemon.json"),
		ContainerdConfig:   filepath.Join(dir, "containerd", "config.toml"),
		RuntimeSearchPaths: []string{bin},
		ApplyRuntime:       true,
	}.Default()

	// Neither directory exists: nothing detected.
	step, _ := newTestRuntimeStep(base, nil, "")
	if r, _ := step.run(context.Background()); r.Reason != "NoContainerRuntime" {
		t.Fatalf("nothing present: %+v", r)
	}

	// Named explicitly but absent: said so.
	explicit := base
	explicit.Runtimes = []string{"containerd"}
	step, _ = newTestRuntimeStep(explicit, nil, "")
	if r, _ := step.run(context.Background()); r.Reason != "NoContainerRuntime" || !strings.Contains(r.Message, "is containerd installed?") {
		t.Fatalf("explicit containerd: %+v", r)
	}

	// containerd's directory exists, its file does not: created.
	if err := os.Mkdir(filepath.Join(dir, "containerd"), 0o755); err != nil {
		t.Fatal(err)
	}
	step, _ = newTestRuntimeStep(base, nil, "")
	r, _ := step.run(context.Background())
	if r.Reason != "RestartNeeded" || strings.Contains(r.Message, "docker:") {
		t.Fatalf("containerd only: %+v", r)
	}
	if _, err := os.Stat(base.ContainerdConfig); err != nil {
		t.Fatalf("config.toml not created: %v", err)
	}
}

func TestOptionsHostRoot(t *testing.T) {
	o := Options{HostRoot: "/host"}.Default()
	rc := o.runtimeConfig()
	if rc.Targets[0].Path != "/host/etc/docker/daemon.json" || rc.Targets[1].Path != "/host/etc/containerd/config.toml" {
		t.Fatalf("targets %+v", rc.Targets)
	}
	if rc.Mode != runtime.ModeCheck {
		t.Fatal("options without ApplyRuntime apply")
	}
	o.ApplyRuntime = true
	if o.runtimeConfig().Mode != runtime.ModeApply {
		t.Fatal("ApplyRuntime ignored")
	}
	o.DryRun = true
	if o.runtimeConfig().Mode != runtime.ModeCheck {
		t.Fatal("dry run writes")
	}
}

func TestRuntimeStepHostRoot(t *testing.T) {
	host := t.TempDir()
	for _, d := range []string{"etc/docker", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(host, "usr/bin/nvidia-container-runtime"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "etc/docker/daemon.json"), []byte(seedDaemonJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{HostRoot: host, RuntimeSearchPaths: []string{"/usr/bin"}, ApplyRuntime: true}.Default()
	step, _ := newTestRuntimeStep(opts, nil, "")
	r, _ := step.run(context.Background())
	if r.Reason != "RestartNeeded" || !strings.Contains(r.Message, filepath.Join(host, "usr/bin/nvidia-container-runtime")) ||
		!strings.Contains(r.Message, filepath.Join(host, "etc/docker/daemon.json")) {
		t.Fatalf("step under a host root: %+v", r)
	}
}
