package app

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpuplane/gpuplane/internal/program"
)

// capture returns run functions that record the configuration they got and
// return err (check: ErrNotReady when not ready).
func capture(ready bool, err error) (*Config, RunFunc, RunFunc) {
	got := new(Config)
	agent := func(_ context.Context, cfg Config) error { *got = cfg; return err }
	check := func(_ context.Context, cfg Config) error {
		*got = cfg
		if err == nil && !ready {
			return ErrNotReady
		}
		return err
	}
	return got, agent, check
}

// run runs the command line and returns the exit code, stdout and stderr.
func run(args []string, agent, check RunFunc) (int, string, string) {
	var out, errOut bytes.Buffer
	code := NewCommand(agent, check)(context.Background(), args, program.Streams{Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

func TestMainAgentFlags(t *testing.T) {
	got, agent, check := capture(true, nil)
	code, _, stderr := run([]string{"--node-name=gpu-1", "--resync=30s", "--runtime=docker", "--serve-metrics",
		"--fake-devices=8xV100@30%", "--kubeconfig=/etc/kubeconfig", "--restart-runtime", "--docker-restart-command=chroot /host systemctl restart docker",
		"-v=4"}, agent, check)
	if code != program.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := got.Options
	if o.NodeName != "gpu-1" || o.Resync != 30*time.Second || !reflect.DeepEqual(o.Runtimes, []string{"docker"}) || !o.ServeMetrics ||
		o.FakeDevices != "8xV100@30%" || got.Kubeconfig != "/etc/kubeconfig" || !o.RestartRuntime ||
		o.DockerRestartCommand != "chroot /host systemctl restart docker" || got.Logging.Verbosity != 4 {
		t.Fatalf("config %+v", got)
	}
	// The agent's defaults: it writes runtime files and serves HTTP.
	if !o.ApplyRuntime || o.MetricsBindAddress != ":9401" || o.HealthProbeBindAddress != ":8081" || o.BackoffMax != time.Minute {
		t.Fatalf("defaults %+v", o)
	}
}

func TestMainCheckFlags(t *testing.T) {
	got, agent, check := capture(true, nil)
	code, _, stderr := run([]string{"check", "--fake-devices", "2xT4", "--docker-config", "daemon.json", "--apply"}, agent, check)
	if code != program.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := got.Options
	if o.FakeDevices != "2xT4" || o.DockerConfig != "daemon.json" || !o.ApplyRuntime || o.Runtimes != nil ||
		o.ContainerdConfig != "/etc/containerd/config.toml" || o.MetricsBindAddress != "" {
		t.Fatalf("config %+v", o)
	}
}

func TestMainExitCodes(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		ready     bool
		err       error
		wantCode  int
		wantInOut string
		wantInErr string
	}{
		{name: "check ready", args: []string{"check"}, ready: true, wantCode: program.ExitOK},
		{name: "check not ready", args: []string{"check"}, ready: false, wantCode: program.ExitFailure},
		{name: "check cannot run", args: []string{"check"}, err: errors.New("boom"), wantCode: program.ExitFailure, wantInErr: "nodeagent check: boom"},
		{name: "agent error", args: []string{"--node-name=n"}, err: errors.New("listen: address in use"), wantCode: program.ExitFailure, wantInErr: "nodeagent: listen: address in use"},
		{name: "agent without node name", args: []string{}, wantCode: program.ExitUsage, wantInErr: "--node-name"},
		{name: "bad flag", args: []string{"check", "--colour"}, wantCode: program.ExitUsage, wantInErr: "unknown flag: --colour"},
		{name: "bad agent flag", args: []string{"--resync=soon"}, wantCode: program.ExitUsage, wantInErr: `"soon" for "--resync"`},
		{name: "agent flag given to check", args: []string{"check", "--resync=1m"}, wantCode: program.ExitUsage, wantInErr: "unknown flag: --resync"},
		{name: "bad log format", args: []string{"check", "--logging-format=xml"}, wantCode: program.ExitUsage, wantInErr: "--logging-format"},
		{name: "stray argument", args: []string{"check", "now"}, wantCode: program.ExitUsage, wantInErr: `unexpected argument "now"`},
		{name: "stray agent argument", args: []string{"--node-name=n", "now"}, wantCode: program.ExitUsage, wantInErr: `unexpected argument "now"`},
		{name: "bad runtime", args: []string{"check", "--runtime=podman"}, wantCode: program.ExitUsage, wantInErr: `runtime "podman"`},
		{name: "help", args: []string{"--help"}, wantCode: program.ExitOK, wantInOut: "--configure-runtime"},
		{name: "check help", args: []string{"check", "-h"}, wantCode: program.ExitOK, wantInOut: "--apply"},
		{name: "help command", args: []string{"help"}, wantCode: program.ExitOK, wantInOut: "nodeagent check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, agent, check := capture(tc.ready, tc.err)
			code, stdout, stderr := run(tc.args, agent, check)
			if code != tc.wantCode || !strings.Contains(stdout, tc.wantInOut) || !strings.Contains(stderr, tc.wantInErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q and %q", code, stdout, stderr, tc.wantCode, tc.wantInOut, tc.wantInErr)
			}
		})
	}
}

// TestHelpLeadsWithOwnFlags: --help of the agent and of check shows the
// command's own flags before the logging flags, and none of klog's legacy
// flags.
func TestHelpLeadsWithOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		own  []string
	}{
		{args: []string{"--help"}, own: []string{"--node-name", "--configure-runtime", "--resync", "--fake-devices"}},
		{args: []string{"check", "--help"}, own: []string{"--apply", "--fake-devices", "--docker-config"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, agent, check := capture(true, nil)
			code, stdout, stderr := run(tc.args, agent, check)
			if code != program.ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			logging := strings.Index(stdout, "--logging-format")
			if logging < 0 {
				t.Fatalf("no logging flags in the help:\n%s", stdout)
			}
			for _, flag := range tc.own {
				if i := strings.Index(stdout, flag); i < 0 || i > logging {
					t.Errorf("%s at %d, want it before the logging flags (at %d):\n%s", flag, i, logging, stdout)
				}
			}
			for _, legacy := range []string{"--logtostderr", "--alsologtostderr", "--log-dir", "--skip-headers", "--stderrthreshold"} {
				if strings.Contains(stdout, legacy) {
					t.Errorf("help lists klog's legacy %s:\n%s", legacy, stdout)
				}
			}
		})
	}
}

// TestMainDaemonSetArgs parses the arguments the DaemonSet passes.
func TestMainDaemonSetArgs(t *testing.T) {
	got, agent, check := capture(true, nil)
	args := []string{
		"--node-name=gpu-7",
		"--containerd-config=/host/etc/containerd/config.toml",
		"--docker-config=/host/etc/docker/daemon.json",
		"--runtime-search-path=/host/usr/bin",
		"--device-plugin-dir=/var/lib/kubelet/device-plugins",
		"--exporter-url=http://10.0.0.7:9400/metrics",
		"--serve-metrics",
		"--metrics-bind-address=:9401",
		"--health-probe-bind-address=:8081",
	}
	if code, _, stderr := run(args, agent, check); code != program.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := got.Options
	if o.ContainerdConfig != "/host/etc/containerd/config.toml" || !reflect.DeepEqual(o.RuntimeSearchPaths, []string{"/host/usr/bin"}) ||
		o.ExporterURL != "http://10.0.0.7:9400/metrics" || o.HostRoot != "/" {
		t.Fatalf("config %+v", o)
	}
}
