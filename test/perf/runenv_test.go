package perf

import (
	"os"
	"strings"
	"testing"
)

func TestRunEnvDefaults(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		env     RunEnv
		wantErr string
		wantExe string
	}{
		{name: "directories given", env: RunEnv{WorkDir: "w", LogDir: "l"}, wantExe: self},
		{name: "program given", env: RunEnv{WorkDir: "w", LogDir: "l", Executable: "/bin/true"}, wantExe: "/bin/true"},
		{name: "no log directory", env: RunEnv{WorkDir: "w"}, wantErr: "the test run needs a work and a log directory"},
		{name: "no work directory", env: RunEnv{LogDir: "l"}, wantErr: "the test run needs a work and a log directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			err := e.setDefaults("test run")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Executable != tc.wantExe || e.Logf == nil {
				t.Errorf("after defaults: %+v, want program %q and a Logf", e, tc.wantExe)
			}
			e.Logf("progress %d", 1) // the default discards, without panicking
		})
	}
}
