package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/internal/program"
)

// run runs the command line and returns the exit code, stdout, stderr and the
// configuration the server would have been started with (nil when it was not).
func run(t *testing.T, stdin string, args ...string) (int, string, string, *Config) {
	t.Helper()
	var out, errOut bytes.Buffer
	var got *Config
	serve := func(_ context.Context, cfg Config) error {
		got = &cfg
		return nil
	}
	code := NewCommand(serve)(context.Background(), args, program.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String(), got
}

func TestServeFlags(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	defaults := Config{}.Default()
	tests := []struct {
		name string
		args []string
		want func(c *Config)
	}{
		{name: "defaults", args: nil, want: func(*Config) {}},
		{name: "serve keyword", args: []string{"serve", "--port=8443"}, want: func(c *Config) { c.Port = 8443 }},
		{name: "port the kernel picks", args: []string{"--port=0"}, want: func(c *Config) { c.Port = 0 }},
		{
			name: "every flag",
			args: []string{
				"--host=127.0.0.1", "--port", "10443", "--cert-dir", "/certs", "--catalog", "cat.yaml",
				"--scheduler-name", "gpuplane", "--placement-resource", "gpuplane.io/placement", "--metrics-bind-address", "127.0.0.1:9090",
				"--health-probe-bind-address", "0", "--self-signed", "--namespace", "gpu", "--secret-name", "s",
				"--service-name", "svc", "--webhook-config-name", "a,b", "--cert-dns-names", "x.local",
				"--cert-ip-addresses", "127.0.0.1,::1", "--kubeconfig", "kc", "--v=0",
			},
			want: func(c *Config) {
				c.Host, c.Port, c.CertDir, c.Catalog = "127.0.0.1", 10443, "/certs", "cat.yaml"
				c.SchedulerName, c.MetricsBindAddress, c.HealthProbeBindAddress = "gpuplane", "127.0.0.1:9090", "0"
				c.SelfSigned, c.Namespace, c.SecretName, c.ServiceName = true, "gpu", "s", "svc"
				c.WebhookConfigNames, c.CertDNSNames = []string{"a", "b"}, []string{"x.local"}
				c.CertIPs = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
				c.Kubeconfig, c.PlacementResource = "kc", "gpuplane.io/placement"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr, got := run(t, "", tt.args...)
			if code != program.ExitOK || got == nil {
				t.Fatalf("exit %d, config %v, stderr %s", code, got, stderr)
			}
			want := defaults
			tt.want(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("config\n got: %+v\nwant: %+v", *got, want)
			}
		})
	}
}

func TestServeNamespaceFromEnvironment(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "gpu-ops")
	_, _, _, got := run(t, "")
	if got == nil || got.Namespace != "gpu-ops" {
		t.Errorf("config %+v, want namespace gpu-ops", got)
	}
}

func TestServeRefusals(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "help", args: []string{"--help"}, code: program.ExitOK, stdout: "--scheduler-name"},
		{name: "help keyword", args: []string{"help"}, code: program.ExitOK, stdout: "webhook explain REQUEST"},
		{name: "unknown flag", args: []string{"--nope"}, code: program.ExitUsage, stderr: "unknown flag: --nope"},
		{name: "bad flag value", args: []string{"--port", "many"}, code: program.ExitUsage, stderr: `"many" for "--port"`},
		{name: "bad log format", args: []string{"--logging-format", "xml"}, code: program.ExitUsage, stderr: `--logging-format: Invalid value: "xml"`},
		{name: "vmodule with json", args: []string{"--logging-format", "json", "--vmodule", "x=2"}, code: program.ExitUsage, stderr: "--vmodule"},
		{name: "bad verbosity", args: []string{"-v", "loud"}, code: program.ExitUsage, stderr: `"loud" for "-v, --v"`},
		{name: "bad port", args: []string{"--port", "70000"}, code: program.ExitUsage, stderr: "--port 70000"},
		{name: "no-gpu resource without a domain", args: []string{"--placement-resource", "no-gpu"}, code: program.ExitUsage, stderr: `--placement-resource "no-gpu"`},
		{name: "no-gpu resource of kubernetes.io", args: []string{"--placement-resource", "kubernetes.io/x"}, code: program.ExitUsage, stderr: "outside kubernetes.io"},
		{name: "negative port", args: []string{"--port=-1"}, code: program.ExitUsage, stderr: "--port -1: want a TCP port, 1 to 65535, or 0"},
		{name: "self-signed without namespace", args: []string{"--self-signed", "--namespace", ""}, code: program.ExitUsage, stderr: "--namespace is empty"},
		{name: "no cert dir", args: []string{"--cert-dir", ""}, code: program.ExitUsage, stderr: "--cert-dir is empty"},
		{name: "bad metrics address", args: []string{"--metrics-bind-address", "8080"}, code: program.ExitUsage, stderr: "--metrics-bind-address"},
		{name: "stray argument", args: []string{"now"}, code: program.ExitUsage, stderr: `unexpected argument "now"`},
		{name: "stray argument after serve", args: []string{"serve", "now"}, code: program.ExitUsage, stderr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, got := run(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, stderr)
			}
			if got != nil {
				t.Errorf("server started with %+v", got)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not mention %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.stderr)
			}
		})
	}
}

// TestHelpLeadsWithOwnFlags: --help of the server and of explain shows the
// command's own flags before the logging flags, and none of klog's legacy
// flags.
func TestHelpLeadsWithOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		own  []string
	}{
		{args: []string{"--help"}, own: []string{"--port", "--cert-dir", "--self-signed", "--kubeconfig"}},
		{args: []string{"serve", "-h"}, own: []string{"--port"}},
		{args: []string{"explain", "--help"}, own: []string{"--role", "-f, --filename"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, _ := run(t, "", tc.args...)
			if code != program.ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			logging := strings.Index(stdout, "--logging-format")
			for _, flag := range tc.own {
				if i := strings.Index(stdout, flag); i < 0 || (logging >= 0 && i > logging) {
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

// TestServeLoggingFlags: the logging flags reach the configuration the
// server is started with.
func TestServeLoggingFlags(t *testing.T) {
	code, _, stderr, got := run(t, "", "-v", "3", "--vmodule", "serve=5")
	if code != program.ExitOK || got == nil {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if l := got.Logging; l.Verbosity != 3 || l.Format != "text" || len(l.VModule) != 1 || l.VModule[0].FilePattern != "serve" || l.VModule[0].Verbosity != 5 {
		t.Errorf("logging %+v", l)
	}
	code, _, stderr, got = run(t, "", "--logging-format=json")
	if code != program.ExitOK || got == nil || got.Logging.Format != "json" {
		t.Fatalf("exit %d, config %+v, stderr %s", code, got, stderr)
	}
}

func TestServeFailureExits1(t *testing.T) {
	var errOut bytes.Buffer
	code := NewCommand(func(context.Context, Config) error { return errors.New("port taken") })(
		context.Background(), nil, program.Streams{Out: &bytes.Buffer{}, Err: &errOut})
	if code != program.ExitFailure || !strings.Contains(errOut.String(), "port taken") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestExplainCommand(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		// want holds top-level JSON fields and their expected values.
		want map[string]any
	}{
		{
			name: "request", args: []string{"explain", "2(V100)"}, code: program.ExitOK,
			want: map[string]any{"input": "2(V100)", "canonical": "2(V100)", "resources": map[string]any{"nvidia.com/gpu": "2"}},
		},
		{
			name: "DRA form", args: []string{"explain", "--dra", "2(V100)"}, code: program.ExitOK,
			want: map[string]any{"input": "2(V100)", "resources": map[string]any{}},
		},
		{
			name: "DRA form refuses a share", args: []string{"explain", "0.5(V100)", "--dra"}, code: exitRefused,
			want: map[string]any{"input": "0.5(V100)", "error": `gpuplane.io/gpu: "0.5(V100)": a share of a card, or vGPU cards, on a DRA pool is not possible; the DRA driver of this pool (gpu.nvidia.com) publishes no capacity that several claims could share; ask whole cards, e.g. 1(V100)`},
		},
		{
			name: "flags after the request", args: []string{"explain", "1(t4)", "--role", "service"}, code: program.ExitOK,
			want: map[string]any{"canonical": "1(T4)"},
		},
		{
			name: "fraction with a role after it", args: []string{"explain", "0.5(T4)", "--role", "train"}, code: program.ExitOK,
			want: map[string]any{"input": "0.5(T4)", "canonical": "0.5(T4)"},
		},
		{
			// SPEC §8: a request starting with "-" is the request, refused, not a flag.
			name: "request starting with a dash", args: []string{"explain", "-1"}, code: exitRefused,
			want: map[string]any{"input": "-1"},
		},
		{
			name: "request starting with a dash, flags after it", args: []string{"explain", "-1", "--role", "train"}, code: exitRefused,
			want: map[string]any{"input": "-1"},
		},
		{
			name: "request starting with a dash after --", args: []string{"explain", "--", "-1"}, code: exitRefused,
			want: map[string]any{"input": "-1"},
		},
		{
			name: "negative fraction", args: []string{"explain", "--role=train", "-0.5(T4)"}, code: exitRefused,
			want: map[string]any{"input": "-0.5(T4)"},
		},
		{
			name: "refused", args: []string{"explain", "2(V100"}, code: exitRefused,
			want: map[string]any{"input": "2(V100", "error": `gpuplane.io/gpu: "2(V100": missing ")" for the "(" at offset 1; write 2(V100)`},
		},
		{
			name: "unknown role", args: []string{"explain", "1", "--role", "chef"}, code: exitRefused,
			want: map[string]any{"input": "1"},
		},
		{
			name: "pod from standard input", args: []string{"explain", "-f", "-"}, code: program.ExitOK,
			stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nb\n  annotations:\n    gpuplane.io/gpu: \"0\"\nspec:\n  containers:\n  - name: lab\n    image: lab:1\n",
			want:  map[string]any{"kind": "Pod"},
		},
		{
			name: "refused pod", args: []string{"explain", "-f", "-"}, code: exitRefused,
			stdin: `{"metadata":{"annotations":{"gpuplane.io/gpu":"1.5"}},"spec":{"containers":[{"name":"c"}]}}`,
			want:  map[string]any{"input": "1.5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, _ := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.code, stdout, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v: %s", err, stdout)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			if tt.code == exitRefused && len(got) != 2 {
				t.Errorf("refusal has fields %v, want input and error only", got)
			}
		})
	}
}

func TestExplainPodFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pod.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: train\n  annotations:\n    gpuplane.io/gpu: 2(V100|A100)\n    gpuplane.io/role: train\nspec:\n  containers:\n  - name: main\n    image: trainer:1\n"
	if err := os.WriteFile(file, []byte(pod), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr, _ := run(t, "", "explain", "-f", file, "--scheduler-name", "gpuplane")
	if code != program.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Metadata struct{ Annotations map[string]string }
		Spec     struct {
			SchedulerName string
			Containers    []struct {
				Resources struct{ Limits, Requests map[string]string }
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Annotations["gpuplane.io/applied"] != "2(V100|A100)" || got.Spec.SchedulerName != "gpuplane" ||
		got.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"] != "2" || got.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"] != "2" {
		t.Errorf("admitted pod: %s", stdout)
	}
}

func TestExplainUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no request", []string{"explain"}, program.ExitUsage, "give one REQUEST"},
		{"two requests", []string{"explain", "1", "2"}, program.ExitUsage, "give one REQUEST"},
		{"file and request", []string{"explain", "-f", "p.yaml", "1"}, program.ExitUsage, "-f takes"},
		{"unknown flag", []string{"explain", "1", "--rol", "train"}, program.ExitUsage, "unknown flag: --rol"},
		{"missing catalog", []string{"explain", "1", "--catalog", "/nonexistent/catalog.yaml"}, program.ExitFailure, "catalog"},
		{"missing pod file", []string{"explain", "-f", "/nonexistent/pod.yaml"}, program.ExitFailure, "reading the pod"},
		{"not a pod", []string{"explain", "-f", "-"}, program.ExitFailure, "does not hold a Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, _ := run(t, "kind: Deployment\n", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.stderr)
			}
		})
	}
}

// TestExplainDRAWritesTheTemplate: --dra prints the claim template, its CEL
// selector as written ("&&", not "\u0026\u0026").
func TestExplainDRAWritesTheTemplate(t *testing.T) {
	code, stdout, stderr, _ := run(t, "", "explain", "--dra", "2(V100|A100)")
	if code != program.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"resourceClaimTemplate": {`, `"firstAvailable": [`, `"name": "v100"`, `"name": "a100"`,
		`"deviceClassName": "gpu.nvidia.com"`, `in device.attributes[\"gpu.nvidia.com\"] && (`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %s:\n%s", want, stdout)
		}
	}
}
