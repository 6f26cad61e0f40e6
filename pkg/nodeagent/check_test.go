package nodeagent

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestRunCheck(t *testing.T) {
	cases := []struct {
		name      string
		daemon    string
		change    func(*Options)
		wantReady bool
		// wantLines must each appear in the output.
		wantLines []string
		wantFile  string // expected daemon.json afterwards; "" = unchanged
	}{
		{
			name:   "seed machine, checked only",
			daemon: seedDaemonJSON,
			change: func(o *Options) { o.FakeDevices = "8xV100" },
			wantLines: []string{
				"[ ok ] driver         DriverLoaded: NVIDIA driver fake-550.54.15, CUDA 12.4",
				"[ ok ] devices        CardsFound: 8 cards: 8xV100 (Tesla V100-32GB, 32768 MiB)",
				"[FAIL] runtime        ConfigNeedsChange: ",
				"`nodeagent check --apply` writes it",
				"[skip] device plugin  NoAPIServer: skipped (needs the API server",
				"[FAIL] exporter       ExporterUnreachable: no dcgm-exporter answers at http://127.0.0.1:1/metrics",
				"verdict: not ready (2 of 4 checked steps need attention)",
				"Changes the runtime files need:",
				`+  "default-runtime": "nvidia"`,
			},
		},
		{
			name:   "seed machine, applied, restarted, metrics served",
			daemon: seedDaemonJSON,
			change: func(o *Options) {
				o.FakeDevices, o.ApplyRuntime, o.RestartRuntime, o.ServeMetrics = "8xV100", true, true, true
			},
			wantReady: true,
			wantLines: []string{
				"[ ok ] runtime        RuntimeConfigured: ",
				"docker restarted",
				"[ ok ] exporter       ServedByNodeAgent: ",
				"verdict: ready (4 steps checked)",
			},
			wantFile: "runtime",
		},
		{
			name:   "dry run writes nothing",
			daemon: seedDaemonJSON,
			change: func(o *Options) { o.FakeDevices, o.ApplyRuntime, o.DryRun = "2xT4", true, true },
			wantLines: []string{
				"dry run: the diff is below, nothing written",
				"+++ ",
			},
		},
		{
			name:   "unknown card: typed by its product name, and usable",
			daemon: seedDaemonJSON,
			change: func(o *Options) {
				o.FakeDevices = writeTemp(t, "cards.yaml", "- product: NVIDIA Quantum 9000\n  memoryMiB: 1000\n")
			},
			wantLines: []string{`[ ok ] devices        ProductNotInCatalog: 1 cards: 1xQUANTUM-9000 (NVIDIA Quantum 9000, 1000 MiB); card 0 "NVIDIA Quantum 9000" not in the catalog`},
		},
		{
			name:   "corrupt daemon.json",
			daemon: `{"log-driver": `,
			change: func(o *Options) { o.FakeDevices, o.ApplyRuntime = "2xT4", true },
			wantLines: []string{
				"[FAIL] runtime        ConfigUnparsable: ",
				"left untouched because it does not parse",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, path := runtimeFiles(t, tc.daemon)
			tc.change(&opts)
			var out bytes.Buffer
			ready, err := RunCheck(context.Background(), opts, Deps{Out: &out, Runner: &countingRunner{}})
			if err != nil {
				t.Fatal(err)
			}
			if ready != tc.wantReady {
				t.Errorf("ready = %v, want %v", ready, tc.wantReady)
			}
			for _, l := range tc.wantLines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
			content, _ := os.ReadFile(path)
			if tc.wantFile == "" && string(content) != tc.daemon {
				t.Errorf("daemon.json changed:\n%s", content)
			}
			if tc.wantFile == "runtime" && !strings.Contains(string(content), `"default-runtime": "nvidia"`) {
				t.Errorf("daemon.json not fixed:\n%s", content)
			}
		})
	}
}

func TestRunCheckRefusesBadInput(t *testing.T) {
	opts, _ := runtimeFiles(t, seedDaemonJSON)
	for name, change := range map[string]func(*Options){
		"bad fake devices": func(o *Options) { o.FakeDevices = "8xX999" },
		"no NVML at all":   func(*Options) {},
		"bad exporter URL": func(o *Options) { o.FakeDevices, o.ExporterURL = "T4", "localhost:9400" },
		"bad runtime":      func(o *Options) { o.FakeDevices, o.Runtimes = "T4", []string{"cri-o"} },
	} {
		t.Run(name, func(t *testing.T) {
			o := opts
			change(&o)
			if _, err := RunCheck(context.Background(), o, Deps{}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
