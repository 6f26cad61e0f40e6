package perf

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// BenchResult is one line of `go test -bench` output.
type BenchResult struct {
	Package string
	Name    string
	// Metrics maps each unit ("ns/op", "B/op", "allocs/op", custom ones)
	// to its value.
	Metrics map[string]float64
}

// ParseBenchOutput reads `go test -bench` output: the "pkg:" lines name the
// package of the benchmark lines after them. The -N GOMAXPROCS suffix is
// dropped from names. Lines it does not know are returned as others, so
// that failures can be reported.
func ParseBenchOutput(r io.Reader) (results []BenchResult, failed []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	pkg := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "Benchmark"):
			if res, ok := parseBenchLine(line); ok {
				res.Package = pkg
				results = append(results, res)
			}
		case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL"):
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return results, failed, sc.Err()
}

// parseBenchLine reads "BenchmarkX-2  100  1234 ns/op  56 B/op  7 allocs/op".
func parseBenchLine(line string) (BenchResult, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return BenchResult{}, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return BenchResult{}, false
	}
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	res := BenchResult{Name: name, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return BenchResult{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// BenchFigures groups the results of repeated runs (-count) into one
// figure per benchmark and unit, in the order first seen.
func BenchFigures(results []BenchResult, modulePrefix string) []Figure {
	type key struct{ pkg, name, unit string }
	var order []key
	values := map[key][]float64{}
	for _, r := range results {
		units := make([]string, 0, len(r.Metrics))
		for _, u := range []string{"ns/op", "B/op", "allocs/op"} {
			if _, ok := r.Metrics[u]; ok {
				units = append(units, u)
			}
		}
		for u := range r.Metrics {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" {
				units = append(units, u)
			}
		}
		for _, u := range units {
			k := key{strings.TrimPrefix(r.Package, modulePrefix), r.Name, u}
			if _, ok := values[k]; !ok {
				order = append(order, k)
			}
			values[k] = append(values[k], r.Metrics[u])
		}
	}
	figs := make([]Figure, 0, len(order))
	for _, k := range order {
		figs = append(figs, NewFigure(k.pkg, k.name, k.unit, values[k], nil))
	}
	return figs
}
