package sim

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Summary is one policy's replays over one or more seeds.
type Summary struct {
	Policy string
	Seeds  []int64
	GPUs   int
	// Mean and Stddev of the allocation % at each threshold over the seeds
	// that reached it (population standard deviation); Reached counts them.
	Mean, Stddev []float64
	Reached      []int
	// Placed and Failed are the mean pod counts.
	Placed, Failed float64
}

// Summarise folds the replays of one policy.
func Summarise(policy string, seeds []int64, runs []Result) Summary {
	th := Thresholds()
	s := Summary{Policy: policy, Seeds: seeds, Mean: make([]float64, len(th)), Stddev: make([]float64, len(th)), Reached: make([]int, len(th))}
	for _, r := range runs {
		s.GPUs = r.GPUs
		s.Placed += float64(r.Placed) / float64(len(runs))
		s.Failed += float64(r.Failed) / float64(len(runs))
		for k := range th {
			if r.Reached[k] {
				s.Reached[k]++
				s.Mean[k] += r.At[k]
			}
		}
	}
	for k := range th {
		if s.Reached[k] == 0 {
			continue
		}
		s.Mean[k] /= float64(s.Reached[k])
		var v float64
		for _, r := range runs {
			if r.Reached[k] {
				v += (r.At[k] - s.Mean[k]) * (r.At[k] - s.Mean[k])
			}
		}
		s.Stddev[k] = math.Sqrt(v / float64(s.Reached[k]))
	}
	return s
}

// JSON is the SPEC §6 object: {"policy","seed","gpus","allocation_at",
// "placed","failed"}, allocation_at mapping arrived % to allocation % for the
// thresholds reached. Over several seeds "seed" gives way to "seeds" and
// "runs", allocation_at holds means, "allocation_stddev" the standard
// deviations, and placed/failed are means.
func (s Summary) JSON() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"policy":%q,`, s.Policy)
	multi := len(s.Seeds) > 1
	if multi {
		fmt.Fprintf(&b, `"seeds":%q,"runs":%d,`, seedsString(s.Seeds), len(s.Seeds))
	} else if len(s.Seeds) == 1 {
		fmt.Fprintf(&b, `"seed":%d,`, s.Seeds[0])
	}
	fmt.Fprintf(&b, `"gpus":%d,"allocation_at":%s,`, s.GPUs, s.curve(s.Mean))
	if multi {
		fmt.Fprintf(&b, `"allocation_stddev":%s,"placed":%s,"failed":%s}`, s.curve(s.Stddev), num(s.Placed), num(s.Failed))
	} else {
		fmt.Fprintf(&b, `"placed":%d,"failed":%d}`, int(s.Placed), int(s.Failed))
	}
	return b.String()
}

func (s Summary) curve(v []float64) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for k, t := range Thresholds() {
		if s.Reached[k] == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, `"%d":%s`, t, num(v[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// num writes v with two decimals, as JSON.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func seedsString(seeds []int64) string {
	contiguous := len(seeds) > 1
	for i := 1; i < len(seeds); i++ {
		contiguous = contiguous && seeds[i] == seeds[i-1]+1
	}
	if contiguous {
		return fmt.Sprintf("%d-%d", seeds[0], seeds[len(seeds)-1])
	}
	parts := make([]string, len(seeds))
	for i, v := range seeds {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, ",")
}

func writeTableHeader(w io.Writer, multi bool) {
	fmt.Fprintf(w, "%-8s %-8s", "policy", "seed")
	for _, t := range Thresholds() {
		if multi {
			fmt.Fprintf(w, " %14s", fmt.Sprintf("@%d%%", t))
		} else {
			fmt.Fprintf(w, " %7s", fmt.Sprintf("@%d%%", t))
		}
	}
	fmt.Fprintf(w, " %8s %8s\n", "placed", "failed")
}

func (s Summary) writeRow(w io.Writer) {
	fmt.Fprintf(w, "%-8s %-8s", s.Policy, seedsString(s.Seeds))
	multi := len(s.Seeds) > 1
	for k := range Thresholds() {
		switch {
		case s.Reached[k] == 0 && multi:
			fmt.Fprintf(w, " %14s", "-")
		case s.Reached[k] == 0:
			fmt.Fprintf(w, " %7s", "-")
		case multi:
			fmt.Fprintf(w, " %14s", fmt.Sprintf("%.2f ± %.2f", s.Mean[k], s.Stddev[k]))
		default:
			fmt.Fprintf(w, " %7.2f", s.Mean[k])
		}
	}
	fmt.Fprintf(w, " %8.0f %8.0f\n", s.Placed, s.Failed)
}
