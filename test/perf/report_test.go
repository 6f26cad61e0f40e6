package perf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func TestSpliceReport(t *testing.T) {
	doc := "# Title\n\nhand written\n\n" + reportBegin + "\nold figures\n" + reportEnd + "\n\nmore hand written\n"
	out, err := SpliceReport([]byte(doc), "NEW")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "old figures") || !strings.Contains(s, reportBegin+"\n\nNEW\n"+reportEnd) {
		t.Errorf("spliced:\n%s", s)
	}
	if !strings.HasPrefix(s, "# Title\n\nhand written\n") || !strings.HasSuffix(s, "more hand written\n") {
		t.Errorf("the hand-written parts changed:\n%s", s)
	}
	again, err := SpliceReport(out, "NEW")
	if err != nil || string(again) != s {
		t.Errorf("splicing twice is not stable:\n%s", again)
	}
	for _, bad := range []string{"no markers", reportEnd + "\n" + reportBegin} {
		if _, err := SpliceReport([]byte(bad), "x"); !errors.Is(err, ErrNoMarkers) {
			t.Errorf("SpliceReport(%q) = %v, want ErrNoMarkers", bad, err)
		}
	}
}

func TestRenderFigures(t *testing.T) {
	r := &Results{
		Updated:  time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Machine:  Machine{CPU: "cpu", Cores: 2, MemoryGiB: 23.4, OS: "linux/amd64"},
		Versions: Versions{Go: "go1.26.8", KubernetesLibraries: "v0.37.2", Commit: "abc"},
		Sections: []Section{
			{Name: SectionGo, Title: "Go benchmarks", Command: "go test -bench .", Repeats: 3, Figures: []Figure{
				NewFigure("pkg/gpuspec", "BenchmarkParse", "ns/op", []float64{100, 120, 110}, nil),
				NewFigure("pkg/gpuspec", "BenchmarkParse", "B/op", []float64{0, 0, 0}, nil),
				NewFigure("pkg/gpuspec", "BenchmarkParse", "allocs/op", []float64{0, 0, 0}, nil),
			}},
			{Name: SectionWebhook, Title: "Webhook", Command: "bin/perf webhook", Repeats: 3, Load: LoadRange{Before: 1.5, After: 2},
				Figures: []Figure{NewFigure("4 connection(s)", "reviews per second", "1/s", []float64{5100.4, 5300, 4900}, AtLeast(5000))},
				Notes:   []string{"a note"}, Profiles: []string{"x.prof"}},
		},
	}
	out := RenderFigures(r)
	for _, want := range []string{
		"cpu, 2 cores, 23.4 GiB", "go1.26.8", "gpuspec", "| pkg/gpuspec | BenchmarkParse | 100 | 110 | 120 | 0 | 0 |",
		"### Webhook", "`bin/perf webhook`", "load average 1.5 before, 2 after",
		"| 4 connection(s) | reviews per second | 4900 | 5100 | 5300 | 1/s | >= 5000 | met |", "- a note", "x.prof",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

func TestUpdateReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := writeFile(path, "intro\n"+reportBegin+"\n"+reportEnd+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := UpdateReport(path, &Results{Machine: Machine{CPU: "the cpu"}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "the cpu") || !strings.HasPrefix(string(raw), "intro\n") {
		t.Errorf("report:\n%s", raw)
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {12, "12"}, {1234.6, "1235"}, {3.14159, "3.14"}, {0.012345, "0.0123"}, {99.96, "100"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.in); got != tt.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
