package perf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ResultsVersion is the version of the results file's layout.
const ResultsVersion = 1

// Results is bench/results.json: where and with what the figures were
// measured, and one section per run (go benchmarks, webhook, extender, end to
// end). Each command rewrites its own section and leaves the others.
type Results struct {
	Version  int       `json:"version"`
	Updated  time.Time `json:"updated"`
	Machine  Machine   `json:"machine"`
	Versions Versions  `json:"versions"`
	Sections []Section `json:"sections"`
}

// Section is one run: the command that produced it, the machine's load
// around it, and its figures.
type Section struct {
	// Name identifies the section: "go", "webhook", "extender", "endtoend".
	Name    string `json:"name"`
	Title   string `json:"title"`
	Command string `json:"command"`
	// Setup says what was measured, in a sentence or two.
	Setup    string    `json:"setup"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Repeats  int       `json:"repeats"`
	Load     LoadRange `json:"load"`
	Figures  []Figure  `json:"figures"`
	Notes    []string  `json:"notes,omitempty"`
	Profiles []string  `json:"profiles,omitempty"`
}

// LoadRange is the 1-minute load average before and after a run: the
// machine is shared, and a figure taken under load says so.
type LoadRange struct {
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// Figure is one measured quantity with a value per repeat.
type Figure struct {
	// Name says what was measured, Group what it belongs to (a node count,
	// a benchmark's package), so that the report can put them in a table.
	Group  string    `json:"group,omitempty"`
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
	Min    float64   `json:"min"`
	Median float64   `json:"median"`
	Max    float64   `json:"max"`
	// Goal, when set, is judged on the median.
	Goal *Goal `json:"goal,omitempty"`
	Met  *bool `json:"met,omitempty"`
}

// Goal is a bound a figure should keep.
type Goal struct {
	// Op is ">=" or "<=".
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// String is the goal as the report writes it.
func (g Goal) String() string { return fmt.Sprintf("%s %s", g.Op, formatNumber(g.Value)) }

// meets tells whether v keeps the goal.
func (g Goal) meets(v float64) bool {
	if g.Op == ">=" {
		return v >= g.Value
	}
	return v <= g.Value
}

// NewFigure summarises the repeats of one quantity, judging goal (nil for
// none) on their median.
func NewFigure(group, name, unit string, values []float64, goal *Goal) Figure {
	f := Figure{Group: group, Name: name, Unit: unit, Values: values, Goal: goal}
	f.Min, f.Median, f.Max = Spread(values)
	if goal != nil {
		met := goal.meets(f.Median)
		f.Met = &met
	}
	return f
}

// AtLeast and AtMost are goals.
func AtLeast(v float64) *Goal { return &Goal{Op: ">=", Value: v} }
func AtMost(v float64) *Goal  { return &Goal{Op: "<=", Value: v} }

// ReadResults reads a results file; a missing file is an empty result.
func ReadResults(path string) (*Results, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Results{Version: ResultsVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("results file %s is not readable JSON (delete it to start afresh): %w", path, err)
	}
	if r.Version != ResultsVersion {
		return nil, fmt.Errorf("results file %s has layout version %d, this program writes %d (delete it to start afresh)", path, r.Version, ResultsVersion)
	}
	return &r, nil
}

// Put replaces the section of the same name, or adds it; sections stay in
// the order of first appearance, except that known ones sort by sectionOrder.
func (r *Results) Put(s Section) {
	i := slices.IndexFunc(r.Sections, func(x Section) bool { return x.Name == s.Name })
	if i >= 0 {
		r.Sections[i] = s
	} else {
		r.Sections = append(r.Sections, s)
	}
	slices.SortStableFunc(r.Sections, func(a, b Section) int { return sectionOrder(a.Name) - sectionOrder(b.Name) })
}

// Section returns the named section, nil when absent.
func (r *Results) Section(name string) *Section {
	for i := range r.Sections {
		if r.Sections[i].Name == name {
			return &r.Sections[i]
		}
	}
	return nil
}

// The section names, in report order.
const (
	SectionGo       = "go"
	SectionWebhook  = "webhook"
	SectionExtender = "extender"
	SectionEndToEnd = "endtoend"
)

func sectionOrder(name string) int {
	switch name {
	case SectionGo:
		return 0
	case SectionWebhook:
		return 1
	case SectionExtender:
		return 2
	case SectionEndToEnd:
		return 3
	}
	return 4
}

// Write writes the results as indented JSON, through a file beside path
// renamed over it, so that an interrupted run never leaves half a file.
func (r *Results) Write(path string) error {
	r.Version = ResultsVersion
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}

// SaveSection puts s into the results file at path, refreshing the machine
// and versions, and writes it back.
func SaveSection(path string, s Section, m Machine, v Versions) error {
	r, err := ReadResults(path)
	if err != nil {
		return err
	}
	r.Put(s)
	r.Machine, r.Versions, r.Updated = m, v, time.Now().UTC().Truncate(time.Second)
	return r.Write(path)
}
