package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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

// hostTree makes a host root with the directories dirs and an empty
// executable at each of bins, and returns it.
func hostTree(t *testing.T, dirs, bins []string) string {
	t.Helper()
	host := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bins {
		if err := os.WriteFile(filepath.Join(host, b), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

func TestRuntimeStepHostRoot(t *testing.T) {
	host := hostTree(t, []string{"etc/docker", "usr/bin"}, []string{"usr/bin/nvidia-container-runtime"})
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

// guideDaemonJSON is the docker configuration of the install guide
// (issue 14): the runtime named by its full path.
const guideDaemonJSON = `{"insecure-registries":["docker.oa.com:8080"], "default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": []}}}`

// TestRuntimeStepEquivalentPaths: a runtime path an operator would write
// for the installed binary is taken as it is; the file is not touched and
// no restart is asked for.
func TestRuntimeStepEquivalentPaths(t *testing.T) {
	daemon := func(path string) string {
		return strings.Replace(guideDaemonJSON, "/usr/bin/nvidia-container-runtime", path, 1)
	}
	tests := []struct {
		name        string
		daemon      string
		runtimePath string // --runtime-path; "" is the default bare name
		wantReason  string
		wantSame    bool // the file is byte-for-byte unchanged
	}{
		{name: "the guide's full path", daemon: guideDaemonJSON, wantReason: "RuntimeConfigured", wantSame: true},
		{name: "the bare name, found on the search path", daemon: daemon("nvidia-container-runtime"), wantReason: "RuntimeConfigured", wantSame: true},
		{name: "full path in --runtime-path, bare name in the file", daemon: daemon("nvidia-container-runtime"),
			runtimePath: "/usr/bin/nvidia-container-runtime", wantReason: "RuntimeConfigured", wantSame: true},
		{name: "the other install directory", daemon: daemon("/usr/local/bin/nvidia-container-runtime"), wantReason: "RuntimeConfigured", wantSame: true},
		{name: "a full path to nothing is rewritten", daemon: daemon("/opt/nvidia/nvidia-container-runtime"), wantReason: "RestartNeeded"},
		{name: "another binary is rewritten", daemon: daemon("/usr/bin/runc"), wantReason: "RestartNeeded"},
		{name: "a relative path is rewritten", daemon: daemon("bin/nvidia-container-runtime"), wantReason: "RestartNeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := hostTree(t, []string{"etc/docker", "usr/bin", "usr/local/bin"},
				[]string{"usr/bin/nvidia-container-runtime", "usr/local/bin/nvidia-container-runtime", "usr/bin/runc"})
			path := filepath.Join(host, "etc/docker/daemon.json")
			if err := os.WriteFile(path, []byte(tt.daemon), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := Options{HostRoot: host, ApplyRuntime: true, Runtimes: []string{"docker"}, RuntimePath: tt.runtimePath}.Default()
			step, runner := newTestRuntimeStep(opts, nil, "")
			r, _ := step.run(context.Background())
			if r.Reason != tt.wantReason {
				t.Fatalf("runtime step %s: %s, want %s", r.Reason, r.Message, tt.wantReason)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if same := string(got) == tt.daemon; same != tt.wantSame {
				t.Errorf("file unchanged: %v, want %v:\n%s", same, tt.wantSame, got)
			}
			if _, err := os.Stat(path + runtime.BackupSuffix); tt.wantSame && err == nil {
				t.Error("a backup was written for a file left as it was")
			}
			if len(runner.calls) != 0 {
				t.Errorf("restarts: %v", runner.calls)
			}
		})
	}
}

// operatorConfigTOML is a containerd config.toml with an operator's notes.
const operatorConfigTOML = `# Managed by hand: ask the platform team before changing.
version = 2
root = "/var/lib/containerd"

[plugins]
  # Our pause image mirror.
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.local:5000/pause:3.10"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = true # the kubelet uses systemd
`

// TestRuntimeStepContainerdKeepsTheOperatorsFile: the NVIDIA runtime goes
// into a drop-in under conf.d; config.toml only gains the imports line, and
// keeps every line (comments included) as the operator wrote it.
func TestRuntimeStepContainerdKeepsTheOperatorsFile(t *testing.T) {
	host := hostTree(t, []string{"etc/containerd", "usr/bin"}, []string{"usr/bin/nvidia-container-runtime"})
	path := filepath.Join(host, "etc/containerd/config.toml")
	if err := os.WriteFile(path, []byte(operatorConfigTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{HostRoot: host, ApplyRuntime: true, Runtimes: []string{"containerd"}}.Default()
	step, _ := newTestRuntimeStep(opts, nil, "")
	if r, _ := step.run(context.Background()); r.Reason != "RestartNeeded" {
		t.Fatalf("first pass: %s: %s", r.Reason, r.Message)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	rest := string(got)
	for _, line := range strings.SplitAfter(operatorConfigTOML, "\n") {
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("line %q of the operator's file is gone:\n%s", line, got)
		}
		if extra := strings.TrimSpace(rest[:i]); extra != "" {
			added = append(added, extra)
		}
		rest = rest[i+len(line):]
	}
	if want := []string{`imports = ["/etc/containerd/conf.d/*.toml"]`}; !reflect.DeepEqual(added, want) {
		t.Errorf("lines added to config.toml: %q, want %q", added, want)
	}
	dropIn, err := os.ReadFile(filepath.Join(host, "etc/containerd/conf.d/99-nvidia.toml"))
	if err != nil {
		t.Fatalf("no drop-in: %v", err)
	}
	for _, want := range []string{"default_runtime_name = 'nvidia'", "BinaryName = 'nvidia-container-runtime'", "SystemdCgroup = true", "sandbox_image"} {
		if !strings.Contains(string(dropIn), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, dropIn)
		}
	}
	// The next pass finds both files right and writes nothing.
	before, _ := os.ReadFile(path)
	step2, _ := newTestRuntimeStep(opts, nil, "")
	if r, _ := step2.run(context.Background()); r.Reason != "RuntimeConfigured" {
		t.Fatalf("second pass: %s: %s", r.Reason, r.Message)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("config.toml rewritten by a pass that found it right")
	}
}
