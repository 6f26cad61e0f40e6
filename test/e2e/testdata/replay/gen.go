//go:build ignore

// gen writes the small trace of TestReplayAgreesWithSimulate: nodes.csv and
// pods.csv in the Alibaba trace format, shaped like the default trace (its
// node shapes and most frequent requests) at a size a 2-core CI machine
// replays through kube-scheduler in about a minute. Run it from this
// directory: go run gen.go
package main

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	if err := write("nodes.csv", nodes()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := write("pods.csv", pods()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func write(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// nodes: 32 nodes, 164 cards, in the default trace's shapes.
func nodes() [][]string {
	shapes := []struct {
		n        int
		cpu, mem int
		gpus     int
		model    string
	}{
		{10, 96000, 393216, 8, "G2"},
		{8, 104000, 524288, 2, "T4"},
		{6, 16000, 122880, 2, "P100"},
		{3, 128000, 786432, 8, "G3"},
		{3, 96000, 786432, 8, "V100M32"},
		{2, 32000, 131072, 4, "V100M16"},
	}
	rows := [][]string{{"sn", "cpu_milli", "memory_mib", "gpu", "model"}}
	i := 0
	for _, s := range shapes {
		for range s.n {
			rows = append(rows, []string{fmt.Sprintf("ci-node-%02d", i), strconv.Itoa(s.cpu), strconv.Itoa(s.mem), strconv.Itoa(s.gpus), s.model})
			i++
		}
	}
	return rows
}

// pods: 240 pods, with the default trace's mix: one in eight without GPU
// (the webhook gives those gpuplane.io/placement, which brings them to the
// extender's policy as simulate's protocol places them); of the GPU pods
// more than half one whole card, two fifths shares, a few of 2, 4 and 8
// cards, a tenth naming one model. No pod names several models: the
// extender prefers them in the order written, simulate does not.
func pods() [][]string {
	rng := rand.New(rand.NewPCG(2023, 16))
	hosts := [][2]int{{3152, 5600}, {11300, 49152}, {11908, 47104}, {8000, 30517}, {11400, 48128}, {12500, 57344}, {3152, 5600}, {4000, 15258}}
	shares := []int{810, 470, 320, 650, 230, 460, 160, 550, 810, 470}
	specs := []string{"T4", "V100M32", "G3", "P100", "V100M16"}
	rows := [][]string{{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"}}
	for i := range 240 {
		h := hosts[rng.IntN(len(hosts))]
		num, milli, spec := 1, 1000, ""
		switch k := rng.IntN(98); {
		case k >= 86:
			num, milli = 0, 0
		case k < 48:
		case k < 82:
			milli = shares[rng.IntN(len(shares))]
		default:
			num = []int{2, 4, 8}[rng.IntN(3)]
		}
		if num > 0 && rng.IntN(10) == 0 {
			spec = specs[rng.IntN(len(specs))]
		}
		rows = append(rows, []string{fmt.Sprintf("ci-pod-%04d", i), strconv.Itoa(h[0]), strconv.Itoa(h[1]),
			strconv.Itoa(num), strconv.Itoa(milli), spec})
	}
	return rows
}
