package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// past is the mtime test files start with, so that a write shows.
var past = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// writeTestFile creates path with content and an old mtime.
func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
}

type recordingRunner struct{ calls [][]string }

func (r *recordingRunner) Run(_ context.Context, argv []string) ([]byte, error) {
	r.calls = append(r.calls, argv)
	return nil, nil
}

func TestConfiguratorEnsure(t *testing.T) {
	restart := []string{"systemctl", "restart", "docker"}
	cases := []struct {
		name     string
		kind     Kind
		content  *string // nil: the file does not exist
		mode     Mode
		restart  bool
		wantErr  error
		wantOut  Outcome // Target, Diff and BackupPath are not compared
		wantRuns int
	}{
		{name: "seed daemon.json", kind: Docker, content: ptr(seedDaemonJSON), mode: ModeApply,
			wantOut: Outcome{Exists: true, Changed: true, Written: true}},
		{name: "seed daemon.json with restart", kind: Docker, content: ptr(seedDaemonJSON), mode: ModeApply, restart: true,
			wantOut: Outcome{Exists: true, Changed: true, Written: true, Restarted: true}, wantRuns: 1},
		{name: "seed daemon.json checked only", kind: Docker, content: ptr(seedDaemonJSON), mode: ModeCheck, restart: true,
			wantOut: Outcome{Exists: true, Changed: true}},
		{name: "empty daemon.json", kind: Docker, content: ptr(""), mode: ModeApply,
			wantOut: Outcome{Exists: true, Changed: true, Written: true}},
		{name: "missing daemon.json", kind: Docker, mode: ModeApply,
			wantOut: Outcome{Changed: true, Written: true}},
		{name: "daemon.json already right", kind: Docker, content: ptr(seedDaemonJSONWant), mode: ModeApply, restart: true,
			wantOut: Outcome{Exists: true}},
		{name: "corrupt daemon.json", kind: Docker, content: ptr(`{"insecure-registries": ["registry.local:5000"`), mode: ModeApply, restart: true,
			wantErr: ErrUnparsable, wantOut: Outcome{Exists: true}},
		{name: "containerd v2", kind: Containerd, content: ptr(containerdV2), mode: ModeApply, restart: true,
			wantOut: Outcome{Exists: true, Changed: true, Written: true, Restarted: true}, wantRuns: 1},
		{name: "containerd v3", kind: Containerd, content: ptr(containerdV3), mode: ModeApply,
			wantOut: Outcome{Exists: true, Changed: true, Written: true}},
		{name: "containerd v3 already right", kind: Containerd, content: ptr(containerdV3Right), mode: ModeApply, restart: true,
			wantOut: Outcome{Exists: true}},
		{name: "containerd version 1", kind: Containerd, content: ptr("[plugins.cri]\n"), mode: ModeApply,
			wantErr: ErrUnsupportedVersion, wantOut: Outcome{Exists: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config")
			if tc.content != nil {
				writeTestFile(t, path, *tc.content, 0o600)
			}
			runner := &recordingRunner{}
			c := &Configurator{Runner: runner, Restart: tc.restart}
			target := Target{Kind: tc.kind, Path: path, RestartCommand: restart}
			got, err := c.Ensure(context.Background(), target, tc.mode)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Ensure: err = %v, want %v", err, tc.wantErr)
			}
			if got.Changed != (got.Diff != "") {
				t.Errorf("Changed = %v but diff %q", got.Changed, got.Diff)
			}
			gotCmp := got
			gotCmp.Target, gotCmp.Diff, gotCmp.BackupPath = Target{}, "", ""
			if !reflect.DeepEqual(gotCmp, tc.wantOut) {
				t.Errorf("outcome = %+v, want %+v", gotCmp, tc.wantOut)
			}
			if len(runner.calls) != tc.wantRuns {
				t.Errorf("restart ran %d times, want %d", len(runner.calls), tc.wantRuns)
			}
			for _, call := range runner.calls {
				if !reflect.DeepEqual(call, restart) {
					t.Errorf("ran %q, want %q", call, restart)
				}
			}
			assertFileAfterEnsure(t, path, tc.content, got)
		})
	}
}

// assertFileAfterEnsure checks the file against what Ensure says it did:
// untouched (same bytes and mtime) unless written; written files are the
// plan, keep the mode, and have a backup of the old content.
func assertFileAfterEnsure(t *testing.T, path string, before *string, out Outcome) {
	t.Helper()
	info, statErr := os.Stat(path)
	if !out.Written {
		if before == nil {
			if statErr == nil {
				t.Fatal("file created although nothing was written")
			}
			return
		}
		if statErr != nil {
			t.Fatal(statErr)
		}
		content, _ := os.ReadFile(path)
		if string(content) != *before {
			t.Errorf("file changed without a write:\n%s", content)
		}
		if !info.ModTime().Equal(past) {
			t.Errorf("mtime changed to %v without a write", info.ModTime())
		}
		if _, err := os.Stat(path + BackupSuffix); err == nil {
			t.Error("backup made without a write")
		}
		return
	}
	if statErr != nil {
		t.Fatal(statErr)
	}
	wantMode := os.FileMode(0o600)
	if before == nil {
		wantMode = newFileMode
	}
	if info.Mode().Perm() != wantMode {
		t.Errorf("mode = %v, want %v", info.Mode().Perm(), wantMode)
	}
	content, _ := os.ReadFile(path)
	old := ""
	if before != nil {
		old = *before
	}
	var planned []byte
	var err error
	if out.Target.Kind == Docker {
		planned, _, err = PlanDocker([]byte(old), RuntimeSpec{})
	} else {
		planned, _, err = PlanContainerd([]byte(old), RuntimeSpec{})
	}
	if err != nil || string(content) != string(planned) {
		t.Errorf("written content is not the plan (%v):\n%s", err, content)
	}
	if before == nil {
		if out.BackupPath != "" {
			t.Errorf("backup %q of a file that did not exist", out.BackupPath)
		}
	} else {
		backup, err := os.ReadFile(path + BackupSuffix)
		if err != nil || string(backup) != *before || out.BackupPath != path+BackupSuffix {
			t.Errorf("backup %q: %q, %v", out.BackupPath, backup, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %q left behind", e.Name())
		}
	}
}

func TestConfiguratorRestartFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	writeTestFile(t, path, seedDaemonJSON, 0o644)
	boom := errors.New("unit docker.service not found")
	c := &Configurator{Restart: true, Runner: RunnerFunc(func(context.Context, []string) ([]byte, error) { return nil, boom })}
	out, err := c.Ensure(context.Background(), Target{Kind: Docker, Path: path, RestartCommand: []string{"systemctl", "restart", "docker"}}, ModeApply)
	if !errors.Is(err, ErrRestartFailed) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want ErrRestartFailed wrapping the runner's error", err)
	}
	if !out.Written || out.Restarted {
		t.Fatalf("outcome = %+v, want written and not restarted", out)
	}
}

func TestConfiguratorNoRestartCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	runner := &recordingRunner{}
	c := &Configurator{Restart: true, Runner: runner}
	out, err := c.Ensure(context.Background(), Target{Kind: Docker, Path: path}, ModeApply)
	if err != nil || !out.Written || out.Restarted || len(runner.calls) != 0 {
		t.Fatalf("out = %+v, err = %v, runs = %d", out, err, len(runner.calls))
	}
}

func TestConfiguratorUnknownKind(t *testing.T) {
	c := &Configurator{}
	if _, err := c.Ensure(context.Background(), Target{Kind: "cri-o", Path: filepath.Join(t.TempDir(), "x")}, ModeApply); err == nil {
		t.Fatal("unknown runtime kind accepted")
	}
}

func TestTargetPresent(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "daemon.json")
	cases := []struct {
		name string
		path string
		want bool
	}{
		{"directory exists, file absent", file, true},
		{"directory absent", filepath.Join(dir, "docker", "daemon.json"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Target{Kind: Docker, Path: tc.path}).Present(); got != tc.want {
				t.Fatalf("Present(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
