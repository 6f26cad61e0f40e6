package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeHandmade(t *testing.T) (nodes, pods string) {
	t.Helper()
	dir := t.TempDir()
	nodes, pods = filepath.Join(dir, "nodes.csv"), filepath.Join(dir, "pods.csv")
	if err := os.WriteFile(nodes, []byte(handmadeNodes), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pods, []byte(handmadePods), 0o600); err != nil {
		t.Fatal(err)
	}
	return nodes, pods
}

func TestRunSimulateJSON(t *testing.T) {
	nodes, pods := writeHandmade(t)
	var out bytes.Buffer
	if err := RunSimulate([]string{"--nodes", nodes, "--pods", pods, "--policy", "all", "--seed", "5", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var policies []string
	for _, l := range lines {
		var obj struct {
			Policy       string             `json:"policy"`
			Seed         *int64             `json:"seed"`
			GPUs         int                `json:"gpus"`
			AllocationAt map[string]float64 `json:"allocation_at"`
			Placed       *int               `json:"placed"`
			Failed       *int               `json:"failed"`
		}
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if obj.Seed == nil || *obj.Seed != 5 || obj.GPUs != 6 || obj.Placed == nil || obj.Failed == nil {
			t.Errorf("line %q lacks seed 5, gpus 6, placed or failed", l)
		}
		for _, k := range []string{"90", "100", "110", "120", "130"} {
			if v, ok := obj.AllocationAt[k]; !ok || v < 0 || v > 100 {
				t.Errorf("line %q: allocation_at[%s] = %v, %v", l, k, v, ok)
			}
		}
		policies = append(policies, obj.Policy)
	}
	if want := []string{"binpack", "spread", "bestfit", "fgd", "auto",
		"hami-binpack-binpack", "hami-binpack-spread", "hami-spread-binpack", "hami-spread-spread"}; !slices.Equal(policies, want) {
		t.Errorf("policies %v, want %v", policies, want)
	}
	var again bytes.Buffer
	if err := RunSimulate([]string{"--nodes", nodes, "--pods", pods, "--policy", "all", "--seed", "5", "--json", "--parallel", "1"}, &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("the same seed replayed differently:\n%s\n%s", out.String(), again.String())
	}
}

func TestRunSimulateSeedsTable(t *testing.T) {
	nodes, pods := writeHandmade(t)
	var out bytes.Buffer
	if err := RunSimulate([]string{"--nodes", nodes, "--pods", pods, "--policy", "binpack", "--seeds", "1-3"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "binpack  1-3") || !strings.Contains(out.String(), "±") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestRunSimulateErrors(t *testing.T) {
	nodes, pods := writeHandmade(t)
	tests := []struct {
		name string
		args []string
		is   error
	}{
		{"no files", nil, ErrUsage},
		{"unknown policy", []string{"--nodes", nodes, "--pods", pods, "--policy", "random"}, ErrUsage},
		{"bad seeds", []string{"--nodes", nodes, "--pods", pods, "--seeds", "9-1"}, ErrUsage},
		{"bad inflate", []string{"--nodes", nodes, "--pods", pods, "--inflate", "-1"}, ErrUsage},
		{"stray argument", []string{"--nodes", nodes, "--pods", pods, "extra"}, ErrUsage},
		{"bad cpu-pods", []string{"--nodes", nodes, "--pods", pods, "--cpu-pods", "random"}, ErrUsage},
		{"unknown flag", []string{"--nodes", nodes, "--pods", pods, "--speed", "2"}, ErrUsage},
		{"missing file", []string{"--nodes", nodes + ".gone", "--pods", pods}, ErrTrace},
		{"bad trace", []string{"--nodes", pods, "--pods", pods}, ErrTrace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := RunSimulate(tc.args, &bytes.Buffer{}); !errors.Is(err, tc.is) {
				t.Fatalf("RunSimulate(%v) = %v, want %v", tc.args, err, tc.is)
			}
		})
	}
	var help bytes.Buffer
	if err := RunSimulate([]string{"--help"}, &help); err != nil || !strings.Contains(help.String(), "--inflate") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}

func TestParseSeeds(t *testing.T) {
	tests := []struct {
		in   string
		want []int64
	}{
		{"42-44", []int64{42, 43, 44}},
		{"7", []int64{7}},
		{"1, 5,9", []int64{1, 5, 9}},
		{"3-3", []int64{3}},
	}
	for _, tc := range tests {
		if got, err := ParseSeeds(tc.in); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "a-b", "5-1", "1,,2", "0-20000"} {
		if _, err := ParseSeeds(in); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseSeeds(%q) = %v, want ErrUsage", in, err)
		}
	}
}
