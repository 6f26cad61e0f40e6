package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	empty, bin, notExec := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, d := range []string{empty, bin, notExec} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, DefaultRuntimePath), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notExec, DefaultRuntimePath), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		binary  string
		dirs    []string
		want    string
		wantErr bool
	}{
		{name: "second directory", binary: DefaultRuntimePath, dirs: []string{empty, bin}, want: filepath.Join(bin, DefaultRuntimePath)},
		{name: "not executable is skipped", binary: DefaultRuntimePath, dirs: []string{notExec, bin}, want: filepath.Join(bin, DefaultRuntimePath)},
		{name: "nowhere", binary: DefaultRuntimePath, dirs: []string{empty, notExec}, wantErr: true},
		{name: "no directories", binary: DefaultRuntimePath, wantErr: true},
		{name: "absolute path", binary: filepath.Join(bin, DefaultRuntimePath), want: filepath.Join(bin, DefaultRuntimePath)},
		{name: "absolute path not executable", binary: filepath.Join(notExec, DefaultRuntimePath), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindBinary(tc.binary, tc.dirs)
			if tc.wantErr {
				if !errors.Is(err, ErrBinaryMissing) {
					t.Fatalf("FindBinary = %q, %v; want ErrBinaryMissing", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FindBinary = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
