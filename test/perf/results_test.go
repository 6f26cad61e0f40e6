package perf

import (
	"path/filepath"
	"testing"
	"time"
)

func TestNewFigureGoal(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		goal   *Goal
		met    *bool
	}{
		{"no goal", []float64{1, 2, 3}, nil, nil},
		{"at least, median above", []float64{4000, 6000, 5500}, AtLeast(5000), ptrTo(true)},
		{"at least, median below though max above", []float64{4000, 4500, 6000}, AtLeast(5000), ptrTo(false)},
		{"at most, equal is met", []float64{5, 5, 9}, AtMost(5), ptrTo(true)},
		{"at most, above", []float64{6, 7, 8}, AtMost(5), ptrTo(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFigure("g", "n", "u", tt.values, tt.goal)
			switch {
			case tt.met == nil && f.Met != nil:
				t.Errorf("met = %v, want none", *f.Met)
			case tt.met != nil && (f.Met == nil || *f.Met != *tt.met):
				t.Errorf("met = %v, want %v", f.Met, *tt.met)
			}
		})
	}
}

func TestResultsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench", "results.json")
	m := Machine{CPU: "test cpu", Cores: 2, MemoryGiB: 24, OS: "linux/amd64"}
	v := Versions{Go: "go1.26.8", KubernetesLibraries: "v0.37.2"}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := SaveSection(path, Section{Name: SectionEndToEnd, Title: "e2e", Started: started,
		Figures: []Figure{NewFigure("", "ratio", "", []float64{0.9}, AtLeast(0.8))}}, m, v); err != nil {
		t.Fatal(err)
	}
	if err := SaveSection(path, Section{Name: SectionGo, Title: "go"}, m, v); err != nil {
		t.Fatal(err)
	}
	if err := SaveSection(path, Section{Name: SectionEndToEnd, Title: "e2e again"}, m, v); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 2 || r.Sections[0].Name != SectionGo || r.Sections[1].Title != "e2e again" {
		t.Errorf("sections %+v: want go first, then the replaced e2e", r.Sections)
	}
	if r.Machine != m || r.Versions != v {
		t.Errorf("machine %+v versions %+v", r.Machine, r.Versions)
	}
}

func TestReadResultsMissingAndWrongVersion(t *testing.T) {
	dir := t.TempDir()
	r, err := ReadResults(filepath.Join(dir, "absent.json"))
	if err != nil || len(r.Sections) != 0 {
		t.Errorf("missing file: %+v, %v; want empty results", r, err)
	}
	path := filepath.Join(dir, "old.json")
	old := &Results{Version: ResultsVersion + 1}
	if err := old.Write(path); err != nil {
		t.Fatal(err)
	}
	// Write stamps the current version; rewrite the file with another.
	if err := writeFile(path, `{"version": 99}`); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResults(path); err == nil {
		t.Error("a results file of another layout version was read")
	}
	if err := writeFile(path, `{not json`); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResults(path); err == nil {
		t.Error("a broken results file was read")
	}
}
