package app

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// capture returns run functions that record the configuration they got.
func capture(ready bool, err error) (*Config, AgentFunc, CheckFunc) {
	got := new(Config)
	agent := func(_ context.Context, cfg Config, _ Streams) error { *got = cfg; return err }
	check := func(_ context.Context, cfg Config, _ Streams) (bool, error) { *got = cfg; return ready, err }
	return got, agent, check
}

func TestMainAgentFlags(t *testing.T) {
	got, agent, check := capture(true, nil)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"--node-name=gpu-1", "--resync=30s", "--runtime=docker", "--serve-metrics",
		"--fake-devices=8xV100@30%", "--kubeconfig=/etc/kubeconfig", "--restart-runtime", "--docker-restart-command=chroot /host systemctl restart docker"},
		Streams{Out: &out, Err: &errOut}, agent, check)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	o := got.Options
	if o.NodeName != "gpu-1" || o.Resync != 30*time.Second || !reflect.DeepEqual(o.Runtimes, []string{"docker"}) || !o.ServeMetrics ||
		o.FakeDevices != "8xV100@30%" || got.Kubeconfig != "/etc/kubeconfig" || !o.RestartRuntime ||
		o.DockerRestartCommand != "chroot /host systemctl restart docker" {
		t.Fatalf("config %+v", got)
	}
	// The agent's defaults: it writes runtime files and serves HTTP.
	if !o.ApplyRuntime || o.MetricsBindAddress != ":9401" || o.HealthProbeBindAddress != ":8081" || o.BackoffMax != time.Minute {
		t.Fatalf("defaults %+v", o)
	}
}

func TestMainCheckFlags(t *testing.T) {
	got, agent, check := capture(true, nil)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"check", "--fake-devices", "2xT4", "--docker-config", "daemon.json", "--apply"},
		Streams{Out: &out, Err: &errOut}, agent, check)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
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
		wantInErr string
	}{
		{name: "check ready", args: []string{"check"}, ready: true, wantCode: ExitOK},
		{name: "check not ready", args: []string{"check"}, ready: false, wantCode: ExitNotReady},
		{name: "check cannot run", args: []string{"check"}, err: errors.New("boom"), wantCode: ExitNotReady, wantInErr: "nodeagent check: boom"},
		{name: "agent without node name", args: []string{}, wantCode: ExitNotReady, wantInErr: "--node-name"},
		{name: "bad flag", args: []string{"check", "--colour"}, wantCode: ExitNotReady, wantInErr: "unknown flag"},
		{name: "stray argument", args: []string{"check", "now"}, wantCode: ExitNotReady, wantInErr: `unexpected argument "now"`},
		{name: "bad runtime", args: []string{"check", "--runtime=podman"}, wantCode: ExitNotReady, wantInErr: `runtime "podman"`},
		{name: "help", args: []string{"--help"}, wantCode: ExitOK, wantInErr: "--configure-runtime"},
		{name: "check help", args: []string{"check", "-h"}, wantCode: ExitOK, wantInErr: "--apply"},
		{name: "agent error", args: []string{"--node-name=n"}, err: errors.New("listen: address in use"), wantCode: ExitNotReady, wantInErr: "address in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, agent, check := capture(tc.ready, tc.err)
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tc.args, Streams{Out: &out, Err: &errOut}, agent, check)
			if code != tc.wantCode || !strings.Contains(errOut.String(), tc.wantInErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.wantCode, tc.wantInErr)
			}
		})
	}
}

func TestMainHelpCommand(t *testing.T) {
	_, agent, check := capture(true, nil)
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"help"}, Streams{Out: &out, Err: &out}, agent, check); code != ExitOK || !strings.Contains(out.String(), "nodeagent check") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

// TestMainDaemonSetArgs parses the arguments the DaemonSet passes.
func TestMainDaemonSetArgs(t *testing.T) {
	got, agent, check := capture(true, nil)
	var errOut bytes.Buffer
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
	if code := Main(context.Background(), args, Streams{Out: &errOut, Err: &errOut}, agent, check); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	o := got.Options
	if o.ContainerdConfig != "/host/etc/containerd/config.toml" || !reflect.DeepEqual(o.RuntimeSearchPaths, []string{"/host/usr/bin"}) ||
		o.ExporterURL != "http://10.0.0.7:9400/metrics" || o.HostRoot != "/" {
		t.Fatalf("config %+v", o)
	}
}
