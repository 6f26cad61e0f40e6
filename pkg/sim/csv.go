package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrTrace marks a trace file that cannot be read.
var ErrTrace = errors.New("bad trace")

// Pod is one row of a pod list: its name and what it asks for.
type Pod struct {
	Name    string
	Request placement.Request
}

// ReadNodes reads a node list in the Alibaba trace format
// (sn,cpu_milli,memory_mib,gpu,model; columns found by header name). Every
// node hands out whole cards and shares, as in the trace's cluster; card
// memory is unknown (the trace has none), so shares ask for cores only. A
// cpu_milli or memory_mib of 0 leaves that resource unchecked.
func ReadNodes(r io.Reader) ([]placement.Node, error) {
	rows, col, err := readTable(r, "node list", []string{"sn", "cpu_milli", "memory_mib", "gpu", "model"}, nil)
	if err != nil {
		return nil, err
	}
	nodes := make([]placement.Node, 0, len(rows))
	for i, row := range rows {
		line := i + 2
		name := row[col["sn"]]
		var cpu, mem, gpus int64
		if err := parseInts(line, row, col, []string{"cpu_milli", "memory_mib", "gpu"}, &cpu, &mem, &gpus); err != nil {
			return nil, err
		}
		model := strings.TrimSpace(row[col["model"]])
		switch {
		case name == "":
			return nil, fmt.Errorf("%w: node list line %d: empty sn, want the node's name", ErrTrace, line)
		case cpu < 0 || mem < 0:
			return nil, fmt.Errorf("%w: node list line %d: negative cpu_milli %d or memory_mib %d", ErrTrace, line, cpu, mem)
		case gpus < 0 || gpus > placement.MaxCards:
			return nil, fmt.Errorf("%w: node list line %d: gpu %d, want 0..%d", ErrTrace, line, gpus, placement.MaxCards)
		case gpus > 0 && model == "":
			return nil, fmt.Errorf("%w: node list line %d: %d GPUs without a model", ErrTrace, line, gpus)
		}
		n := placement.Node{Name: name, WholeCards: true, VGPU: true, CPUMilli: cpu, MemoryMiB: mem}
		n.Cards = make([]placement.Card, gpus)
		for k := range n.Cards {
			n.Cards[k] = placement.Card{Index: k, Type: model}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// ReadPods reads a pod list in the Alibaba trace format
// (name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,...]; columns found
// by header name). num_gpu 0 asks for no GPU; num_gpu 1 with gpu_milli below
// 1000 is a share of one card; else num_gpu whole cards. gpu_spec, when
// present, lists the allowed models separated by '|'.
func ReadPods(r io.Reader) ([]Pod, error) {
	rows, col, err := readTable(r, "pod list", []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"}, []string{"gpu_spec"})
	if err != nil {
		return nil, err
	}
	pods := make([]Pod, 0, len(rows))
	for i, row := range rows {
		line := i + 2
		var cpu, mem, num, milli int64
		if err := parseInts(line, row, col, []string{"cpu_milli", "memory_mib", "num_gpu", "gpu_milli"}, &cpu, &mem, &num, &milli); err != nil {
			return nil, err
		}
		req := placement.Request{CPUMilli: cpu, MemoryMiB: mem}
		switch {
		case num == 0 && milli == 0:
		case num == 0:
			return nil, fmt.Errorf("%w: pod list line %d: gpu_milli %d with num_gpu 0, want gpu_milli 0", ErrTrace, line, milli)
		case num < 0 || num > placement.MaxRequestCards:
			return nil, fmt.Errorf("%w: pod list line %d: num_gpu %d, want 0..%d", ErrTrace, line, num, placement.MaxRequestCards)
		case milli < 1 || milli > placement.MilliPerCard:
			return nil, fmt.Errorf("%w: pod list line %d: gpu_milli %d, want 1..%d", ErrTrace, line, milli, placement.MilliPerCard)
		case num > 1 && milli < placement.MilliPerCard:
			return nil, fmt.Errorf("%w: pod list line %d: gpu_milli %d on %d cards, a share is of one card (want gpu_milli 1000)", ErrTrace, line, milli, num)
		default:
			req.Cards, req.Milli = int(num), milli
			req.VGPU = milli < placement.MilliPerCard
		}
		if k, ok := col["gpu_spec"]; ok && k < len(row) {
			if spec := strings.TrimSpace(row[k]); spec != "" {
				for _, t := range strings.Split(spec, "|") {
					if t = strings.TrimSpace(t); t != "" {
						req.Types = append(req.Types, t)
					}
				}
			}
		}
		if err := req.Validate(); err != nil {
			return nil, fmt.Errorf("%w: pod list line %d: %w", ErrTrace, line, err)
		}
		pods = append(pods, Pod{Name: row[col["name"]], Request: req})
	}
	return pods, nil
}

// readTable reads a CSV with a header, checks that the required columns are
// there, and returns the data rows and the column positions.
func readTable(r io.Reader, what string, required, optional []string) ([][]string, map[string]int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%w: %s is empty, want a header line with %s", ErrTrace, what, strings.Join(required, ","))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s header: %w", ErrTrace, what, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	for _, c := range required {
		if _, ok := col[c]; !ok {
			return nil, nil, fmt.Errorf("%w: %s header %q lacks column %q, want %s", ErrTrace, what, strings.Join(header, ","), c, strings.Join(required, ","))
		}
	}
	keep := map[string]int{}
	for _, c := range append(append([]string(nil), required...), optional...) {
		if i, ok := col[c]; ok {
			keep[c] = i
		}
	}
	var rows [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrTrace, what, err)
		}
		for _, c := range required {
			if keep[c] >= len(rec) {
				line, _ := cr.FieldPos(0)
				return nil, nil, fmt.Errorf("%w: %s line %d has %d fields, want at least %d", ErrTrace, what, line, len(rec), keep[c]+1)
			}
		}
		rows = append(rows, rec)
	}
	return rows, keep, nil
}

func parseInts(line int, row []string, col map[string]int, names []string, dst ...*int64) error {
	for i, name := range names {
		s := strings.TrimSpace(row[col[name]])
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %d: %s %q is not an integer", ErrTrace, line, name, s)
		}
		*dst[i] = v
	}
	return nil
}
