package perf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// The lines between which `perf report` writes the figures into
// docs/performance.md; everything outside them is written by hand.
const (
	reportBegin = "<!-- BEGIN FIGURES: written by `make bench` (perf report) from bench/results.json; edits here are lost -->"
	reportEnd   = "<!-- END FIGURES -->"
)

// ErrNoMarkers says the document lacks the lines the figures go between.
var ErrNoMarkers = errors.New("no figure markers")

// UpdateReport rewrites the figures part of the document at path from r.
func UpdateReport(path string, r *Results) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the report: %w", err)
	}
	out, err := SpliceReport(doc, RenderFigures(r))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// SpliceReport replaces what lies between the markers of doc by figures.
func SpliceReport(doc []byte, figures string) ([]byte, error) {
	b := bytes.Index(doc, []byte(reportBegin))
	e := bytes.Index(doc, []byte(reportEnd))
	if b < 0 || e < b {
		return nil, fmt.Errorf("%w: want a line %q, later a line %q", ErrNoMarkers, reportBegin, reportEnd)
	}
	var out bytes.Buffer
	out.Write(doc[:b+len(reportBegin)])
	out.WriteString("\n\n")
	out.WriteString(figures)
	out.WriteString("\n")
	out.Write(doc[e:])
	return out.Bytes(), nil
}

// RenderFigures writes r as Markdown: the machine and versions, then each
// section's command, load and table.
func RenderFigures(r *Results) string {
	var b strings.Builder
	m, v := r.Machine, r.Versions
	fmt.Fprintf(&b, "Last written %s. Machine: %s, %d cores, %s GiB memory, %s",
		r.Updated.Format("2006-01-02 15:04 MST"), orDash(m.CPU), m.Cores, formatNumber(m.MemoryGiB), m.OS)
	if m.Kernel != "" {
		fmt.Fprintf(&b, " (kernel %s)", m.Kernel)
	}
	fmt.Fprintf(&b, ". %s, client-go %s", v.Go, orDash(v.KubernetesLibraries))
	if v.ControlPlane != "" {
		fmt.Fprintf(&b, ", control plane %s", v.ControlPlane)
	}
	if v.Commit != "" {
		fmt.Fprintf(&b, ", gpuplane %s", v.Commit)
	}
	b.WriteString(".\n")
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n### %s\n\n", s.Title)
		fmt.Fprintf(&b, "`%s`\n\n", s.Command)
		if s.Setup != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Setup)
		}
		fmt.Fprintf(&b, "Run %s, %s s, %d repeat(s); 1-minute load average %s before, %s after.\n\n",
			s.Started.Format("2006-01-02 15:04 MST"), formatNumber(s.Seconds), s.Repeats,
			formatNumber(s.Load.Before), formatNumber(s.Load.After))
		if s.Name == SectionGo {
			renderBenchmarks(&b, s.Figures)
		} else {
			renderFigures(&b, s.Figures)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "\n- %s", n)
		}
		if len(s.Notes) > 0 {
			b.WriteString("\n")
		}
		if len(s.Profiles) > 0 {
			fmt.Fprintf(&b, "\nProfiles (not committed, in bench/): %s\n", strings.Join(s.Profiles, ", "))
		}
	}
	return b.String()
}

func renderFigures(b *strings.Builder, figs []Figure) {
	b.WriteString("| | figure | min | median | max | unit | goal | |\n|---|---|---:|---:|---:|---|---|---|\n")
	for _, f := range figs {
		goal, met := "", ""
		if f.Goal != nil {
			goal = f.Goal.String()
			met = "not met"
			if f.Met != nil && *f.Met {
				met = "met"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			f.Group, f.Name, formatNumber(f.Min), formatNumber(f.Median), formatNumber(f.Max), f.Unit, goal, met)
	}
}

// renderBenchmarks writes one row per benchmark: time per operation over
// the repeats, and the median memory figures.
func renderBenchmarks(b *strings.Builder, figs []Figure) {
	type row struct {
		group, name string
		ns          *Figure
		bytes       *Figure
		allocs      *Figure
	}
	var rows []*row
	find := func(g, n string) *row {
		for _, r := range rows {
			if r.group == g && r.name == n {
				return r
			}
		}
		r := &row{group: g, name: n}
		rows = append(rows, r)
		return r
	}
	for i := range figs {
		f := &figs[i]
		r := find(f.Group, f.Name)
		switch f.Unit {
		case "ns/op":
			r.ns = f
		case "B/op":
			r.bytes = f
		case "allocs/op":
			r.allocs = f
		}
	}
	b.WriteString("| package | benchmark | ns/op min | median | max | B/op | allocs/op |\n|---|---|---:|---:|---:|---:|---:|\n")
	med := func(f *Figure) string {
		if f == nil {
			return ""
		}
		return formatNumber(f.Median)
	}
	for _, r := range rows {
		lo, mid, hi := "", "", ""
		if r.ns != nil {
			lo, mid, hi = formatNumber(r.ns.Min), formatNumber(r.ns.Median), formatNumber(r.ns.Max)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.group, r.name, lo, mid, hi, med(r.bytes), med(r.allocs))
	}
}

// formatNumber writes v with three significant digits, or as an integer
// when it is large.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
