package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module github.com/gpuplane/gpuplane\n\ngo 1.26.0\n", 0o644)
	// A nested module of its own, like the tools module, is not the root.
	writeFile(t, filepath.Join(root, "hack", "tools", "go.mod"), "module github.com/gpuplane/gpuplane/hack/tools\n", 0o644)
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "go.mod"), "module example.com/other\n", 0o644)

	tests := []struct {
		name    string
		from    string
		want    string
		wantErr bool
	}{
		{name: "the root itself", from: root, want: root},
		{name: "a package below", from: filepath.Join(root, "test", "e2e"), want: root},
		{name: "inside the tools module", from: filepath.Join(root, "hack", "tools"), want: root},
		{name: "another module", from: other, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RepoRoot(tt.from)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RepoRoot(%q) error = %v, want error %v", tt.from, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("RepoRoot(%q) = %q, want %q", tt.from, got, tt.want)
			}
		})
	}
}

func TestWorkingRepoRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module github.com/gpuplane/gpuplane\n", 0o644)
	below := filepath.Join(root, "test", "e2e")
	if err := os.MkdirAll(below, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(below)
	got, err := WorkingRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The temporary directory may sit behind a symbolic link.
	want, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ = filepath.EvalSymlinks(got); got != want {
		t.Errorf("WorkingRepoRoot() from %s = %q, want %q", below, got, want)
	}
}

func TestBinDirFromEnvironment(t *testing.T) {
	complete := t.TempDir()
	for _, p := range programs() {
		writeFile(t, filepath.Join(complete, p), "#!/bin/sh\n", 0o755)
	}
	partial := t.TempDir()
	writeFile(t, filepath.Join(partial, "etcd"), "#!/bin/sh\n", 0o755)
	writeFile(t, filepath.Join(partial, "kube-apiserver"), "not executable", 0o644)

	tests := []struct {
		name    string
		dir     string
		wantErr error
	}{
		{name: "all programs", dir: complete},
		{name: "some missing or not executable", dir: partial, wantErr: ErrBinariesMissing},
		{name: "no such directory", dir: filepath.Join(partial, "absent"), wantErr: ErrBinariesMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvBinDir, tt.dir)
			got, err := BinDir()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("BinDir() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.dir {
				t.Errorf("BinDir() = %q, want %q", got, tt.dir)
			}
		})
	}
}
