package perf

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMeasurementRun drives a measuring command with a stand-in measurement:
// the flags reach it, a bad number list stops before anything is measured,
// a measurement that succeeds is saved and its log directory removed, and one
// that fails saves nothing and names its log directory.
func TestMeasurementRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		measureErr error
		wantErr    string
		wantSizes  []int
		measured   bool
		saved      bool
		stderr     string
	}{
		{name: "defaults", measured: true, saved: true, wantSizes: []int{1, 2}},
		{name: "flags", args: []string{"--sizes=3, 5", "--label=x"}, measured: true, saved: true, wantSizes: []int{3, 5}},
		{name: "bad list", args: []string{"--sizes=3,no"}, wantErr: `--sizes: "no" is not a positive whole number`},
		{name: "unknown flag", args: []string{"--size=3"}, wantErr: errUsage.Error()},
		{name: "stray argument", args: []string{"now"}, wantErr: errUsage.Error(), stderr: `unexpected arguments ["now"]`},
		{name: "measurement fails", measureErr: errors.New("boom"), wantErr: "boom", measured: true, wantSizes: []int{1, 2},
			stderr: "perf: the programs' logs are in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			results := filepath.Join(dir, "results.json")
			var sizes []int
			var label, logDir string
			measured := false
			var stderr bytes.Buffer
			err := measurement{
				name: "stand-in", section: "stand-in", title: "A stand-in",
				flags:    func(fs *flag.FlagSet) { fs.StringVar(&label, "label", "none", "a label") },
				intLists: []intListFlag{{name: "sizes", value: "1,2", usage: "sizes", into: &sizes}},
				measure: func(_ context.Context, env RunEnv, s *Section) (string, error) {
					measured, logDir = true, env.LogDir
					if env.WorkDir != dir {
						t.Errorf("work directory %q, want the results file's %q", env.WorkDir, dir)
					}
					s.Setup = "label " + label
					s.Figures = []Figure{{Name: "f", Values: []float64{1}}}
					return "", tt.measureErr
				},
			}.run(context.Background(), append([]string{"--results=" + results}, tt.args...), &stderr)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("run = %v, want an error with %q", err, tt.wantErr)
			}
			if measured != tt.measured {
				t.Errorf("measured %v, want %v", measured, tt.measured)
			}
			if tt.measured && !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("sizes %v, want %v", sizes, tt.wantSizes)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if logDir != "" {
				_, statErr := os.Stat(logDir)
				if kept := statErr == nil; kept != (err != nil) {
					t.Errorf("log directory kept %v after run = %v; want it kept only after a failure", kept, err)
				}
				if err != nil {
					os.RemoveAll(logDir)
				}
			}
			r, readErr := ReadResults(results)
			if readErr != nil {
				t.Fatal(readErr)
			}
			s := r.Section("stand-in")
			if (s != nil) != tt.saved {
				t.Fatalf("section saved %v, want %v", s != nil, tt.saved)
			}
			if s != nil && (s.Command != "bin/perf stand-in "+strings.Join(append([]string{"--results=" + results}, tt.args...), " ") ||
				!strings.HasPrefix(s.Setup, "label ") || len(s.Figures) != 1) {
				t.Errorf("section %+v", *s)
			}
		})
	}
}
