package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// gpuResource is the extended resource simulated nodes offer their cards as.
const gpuResource = "nvidia.com/gpu"

// maxGPUsPerNode bounds --gpu-nodes counts to what a real machine could hold.
const maxGPUsPerNode = 64

type config struct {
	binDir          string
	scheduler       bool
	schedulerConfig string
	gpuNodes        string
}

// run starts the control plane, reports how to use it to out, waits for ctx to end and
// stops everything.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	counts, err := parseGPUNodes(cfg.gpuNodes)
	if err != nil {
		return err
	}
	began := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{BinDir: cfg.binDir})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "Stopping the control plane...")
		err = errors.Join(err, c.Stop())
	}()
	programs := "etcd, kube-apiserver"
	if cfg.scheduler {
		if _, err := c.StartScheduler(ctx, cluster.SchedulerOptions{ConfigFile: cfg.schedulerConfig}); err != nil {
			return err
		}
		programs += ", kube-scheduler"
	}
	for i, n := range counts {
		name := fmt.Sprintf("gpu-node-%d", i+1)
		_, err := c.AddGPUNode(ctx, cluster.NodeSpec{
			Name:     name,
			Labels:   map[string]string{"gpu": "true"},
			Capacity: map[string]string{gpuResource: strconv.Itoa(n)},
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(out, `Control plane ready in %.1fs (%s) at %s.

  export KUBECONFIG=%s
  kubectl get nodes

Logs: %s/*.log
Ctrl-C stops everything and removes %s.
`, time.Since(began).Seconds(), programs, c.Host(), c.KubeconfigPath(), c.Dir(), c.Dir())
	<-ctx.Done()
	return nil
}

// parseGPUNodes reads "8,4,2" into card counts.
func parseGPUNodes(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var counts []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > maxGPUsPerNode {
			return nil, fmt.Errorf("--gpu-nodes %q: %q is not a card count; want whole numbers 0..%d separated by commas, e.g. \"8,4,2\"",
				s, f, maxGPUsPerNode)
		}
		counts = append(counts, n)
	}
	return counts, nil
}
