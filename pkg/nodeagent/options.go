package nodeagent

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/runtime"
)

// ErrInvalidOptions is wrapped by every Options.Validate error.
var ErrInvalidOptions = errors.New("invalid node agent options")

// Options configure the agent and `check`. Zero fields take the defaults
// documented on them, applied in Default; the command's flags show the
// same defaults.
type Options struct {
	// NodeName is the agent's own Node, from the downward API
	// (spec.nodeName). Required by the agent; check does not use it except
	// to name fake cards' UUIDs.
	NodeName string
	// CatalogFile is the GPU catalog; empty: the built-in one.
	CatalogFile string
	// FakeDevices replaces NVML with described cards ("8xV100@30%", or a
	// YAML/JSON file); empty: the real NVML library.
	FakeDevices string
	// VGPU marks the node's cards as shared through vGPU: the vgpu=true
	// label, and the device plugin step checks the vGPU resources.
	VGPU bool
	// Pool is the catalog pool of the node: the gpuplane.io/pool label,
	// written only when given (an operator may set the label instead).
	Pool string
	// Sharing is the backend that shares the node's cards (gpu-manager,
	// hami, mig, timeslice): the gpuplane.io/sharing label. Empty: the
	// sharing of Pool in the catalog, if Pool is given and the catalog
	// lists it; else no label.
	Sharing string
	// DRA says a DRA driver gives the node's cards out, its ResourceSlices
	// listing them: the agent writes no devices annotation (and removes the
	// one it wrote). A node whose gpuplane.io/pool label names a pool of the
	// catalog with allocation dra is treated so without it. Default: false.
	DRA bool

	// Resync is the time between passes when nothing happens; default 60s.
	Resync time.Duration
	// BackoffBase and BackoffMax bound the retry delay after a failed pass
	// (NVML unreadable, API server unreachable), doubling from the base;
	// defaults 5s (or Resync if shorter) and Resync.
	BackoffBase time.Duration
	BackoffMax  time.Duration

	// DockerConfig and ContainerdConfig are the runtime files, as paths on
	// the host; defaults /etc/docker/daemon.json, /etc/containerd/config.toml.
	DockerConfig     string
	ContainerdConfig string
	// Runtimes restricts the runtimes configured ("docker", "containerd");
	// nil: those whose file or directory exists.
	Runtimes []string
	// HostRoot is where the host's file system is mounted; runtime files
	// and binaries are looked for under it. Default "/".
	HostRoot string
	// ApplyRuntime lets the runtime step write the files; false only checks.
	// (The agent's --configure-runtime defaults to true, check's --apply to
	// false.)
	ApplyRuntime bool
	// DryRun prints the diff of each runtime file that needs a change and
	// writes nothing, whatever ApplyRuntime says.
	DryRun bool
	// RestartRuntime restarts a runtime after its file changed.
	RestartRuntime bool
	// DockerRestartCommand and ContainerdRestartCommand, split on spaces;
	// defaults "systemctl restart docker", "systemctl restart containerd".
	// In a container they need the host's init, e.g. "nsenter -t 1 -m -u -i
	// -n -p -- systemctl restart docker" with hostPID.
	DockerRestartCommand     string
	ContainerdRestartCommand string
	// RuntimeName and RuntimePath name the runtime written into the files;
	// defaults "nvidia" and "nvidia-container-runtime".
	RuntimeName string
	RuntimePath string
	// RuntimeSearchPaths are host directories where a bare RuntimePath is
	// looked for; default /usr/bin, /usr/local/bin, /usr/local/nvidia/toolkit.
	RuntimeSearchPaths []string

	// ExporterURL is where a dcgm-exporter is probed; default
	// http://127.0.0.1:9400/metrics.
	ExporterURL string
	// ExporterTimeout bounds the probe; default 2s.
	ExporterTimeout time.Duration
	// ServeMetrics: when no dcgm-exporter answers, the agent serves the
	// DCGM-named metrics itself on MetricsBindAddress.
	ServeMetrics bool
	// MetricsBindAddress serves /metrics; empty or "0": no server (the
	// command's flag defaults to :9401).
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; empty or "0": no
	// server (the flag defaults to :8081). It may equal MetricsBindAddress.
	HealthProbeBindAddress string
	// DevicePluginDir is the kubelet's device-plugin directory: check looks
	// for the NVIDIA plugin's socket there (it cannot see allocatable); the
	// agent judges by allocatable and uses it only to explain a missing
	// resource. Default /var/lib/kubelet/device-plugins.
	DevicePluginDir string
}

// Default returns o with zero fields set to their defaults.
func (o Options) Default() Options {
	if o.Resync == 0 {
		o.Resync = 60 * time.Second
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = min(5*time.Second, o.Resync)
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = o.Resync
	}
	if o.DockerConfig == "" {
		o.DockerConfig = "/etc/docker/daemon.json"
	}
	if o.ContainerdConfig == "" {
		o.ContainerdConfig = "/etc/containerd/config.toml"
	}
	if o.HostRoot == "" {
		o.HostRoot = "/"
	}
	if o.DockerRestartCommand == "" {
		o.DockerRestartCommand = "systemctl restart docker"
	}
	if o.ContainerdRestartCommand == "" {
		o.ContainerdRestartCommand = "systemctl restart containerd"
	}
	if o.RuntimeName == "" {
		o.RuntimeName = runtime.DefaultRuntimeName
	}
	if o.RuntimePath == "" {
		o.RuntimePath = runtime.DefaultRuntimePath
	}
	if o.RuntimeSearchPaths == nil {
		o.RuntimeSearchPaths = runtime.DefaultSearchPaths()
	}
	if o.ExporterURL == "" {
		o.ExporterURL = DefaultExporterURL
	}
	if o.ExporterTimeout == 0 {
		o.ExporterTimeout = 2 * time.Second
	}
	if o.DevicePluginDir == "" {
		o.DevicePluginDir = "/var/lib/kubelet/device-plugins"
	}
	return o
}

// Validate checks defaulted options; agent is true for the long-running
// agent, which needs a node name.
func (o Options) Validate(agent bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...)))
	}
	if agent && o.NodeName == "" {
		bad("no node name: set --node-name (from the downward API: fieldRef spec.nodeName)")
	}
	if o.Resync <= 0 || o.BackoffBase <= 0 || o.BackoffMax < o.BackoffBase {
		bad("resync %v, backoff %v..%v: want positive durations, the maximum at least the base", o.Resync, o.BackoffBase, o.BackoffMax)
	}
	if o.ExporterTimeout <= 0 {
		bad("exporter timeout %v, want a positive duration", o.ExporterTimeout)
	}
	if u, err := url.Parse(o.ExporterURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("exporter URL %q, want an http(s) URL such as %s", o.ExporterURL, DefaultExporterURL)
	}
	if o.Pool != "" {
		if errs := validation.IsValidLabelValue(o.Pool); len(errs) > 0 {
			bad("pool %q is not a label value: %s", o.Pool, strings.Join(errs, "; "))
		}
	}
	switch catalog.Sharing(o.Sharing) {
	case "", catalog.SharingGPUManager, catalog.SharingHAMi, catalog.SharingMIG, catalog.SharingTimeslice:
	default:
		bad("sharing %q, want gpu-manager, hami, mig or timeslice", o.Sharing)
	}
	for _, r := range o.Runtimes {
		if r != string(runtime.Docker) && r != string(runtime.Containerd) {
			bad("runtime %q, want %q or %q", r, runtime.Docker, runtime.Containerd)
		}
	}
	return errors.Join(errs...)
}

// runtimeConfig turns the options into the runtime step's configuration.
func (o Options) runtimeConfig() RuntimeConfig {
	all := []runtime.Target{
		{Kind: runtime.Docker, Path: hostPath(o.HostRoot, o.DockerConfig), RestartCommand: runtime.SplitCommand(o.DockerRestartCommand)},
		{Kind: runtime.Containerd, Path: hostPath(o.HostRoot, o.ContainerdConfig), RestartCommand: runtime.SplitCommand(o.ContainerdRestartCommand),
			DropIn:       hostPath(o.HostRoot, filepath.Join(filepath.Dir(o.ContainerdConfig), "conf.d", runtime.DropInName)),
			DropInImport: filepath.Join(filepath.Dir(o.ContainerdConfig), "conf.d", "*.toml")},
	}
	cfg := RuntimeConfig{
		Targets:     all,
		Detect:      o.Runtimes == nil,
		Spec:        runtime.RuntimeSpec{Name: o.RuntimeName, Path: o.RuntimePath, Accepts: sameBinary(o.RuntimePath, o.HostRoot, o.RuntimeSearchPaths)},
		SearchPaths: o.RuntimeSearchPaths,
		HostRoot:    o.HostRoot,
		Mode:        runtime.ModeCheck,
	}
	if o.Runtimes != nil {
		cfg.Targets = nil
		for _, t := range all {
			for _, r := range o.Runtimes {
				if string(t.Kind) == r {
					cfg.Targets = append(cfg.Targets, t)
				}
			}
		}
	}
	if o.ApplyRuntime && !o.DryRun {
		cfg.Mode = runtime.ModeApply
	}
	return cfg
}

// sameBinary returns the test of a runtime path already in a file: it
// names the binary of want when it is want itself, a full path to an
// executable of the same name on the host (the install guide's
// /usr/bin/nvidia-container-runtime), or that bare name found in one of
// the search directories (as the runtime finds it on its PATH).
func sameBinary(want, root string, dirs []string) func(string) bool {
	return func(p string) bool {
		switch {
		case p == want:
			return true
		case filepath.Base(p) != filepath.Base(want):
			return false
		case filepath.IsAbs(p):
			_, err := runtime.FindBinary(hostPath(root, p), nil)
			return err == nil
		case !strings.ContainsRune(p, '/'):
			host := make([]string, len(dirs))
			for i, d := range dirs {
				host[i] = hostPath(root, d)
			}
			_, err := runtime.FindBinary(p, host)
			return err == nil
		}
		return false
	}
}

// hostPath places an absolute host path under root; relative paths (check
// run by hand on a file in the working directory) are left as they are.
func hostPath(root, p string) string {
	if root == "" || !filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
