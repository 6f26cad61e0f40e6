package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpuplane/gpuplane/test/cluster"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	return cluster.ParseFlags("cluster", "Usage: cluster [flags]\n\n"+
		"Starts a local Kubernetes control plane on 127.0.0.1, prints the KUBECONFIG to use,\n"+
		"and runs until interrupted (Ctrl-C), then stops it and removes its files.\n",
		args, stderr, func(fs *flag.FlagSet, cfg *config) {
			fs.StringVar(&cfg.binDir, "bin-dir", "",
				"directory holding etcd, kube-apiserver and kube-scheduler (default: $GPUPLANE_BIN_DIR, else bin/ at the repository root)")
			fs.BoolVar(&cfg.scheduler, "scheduler", true, "also start kube-scheduler")
			fs.StringVar(&cfg.schedulerConfig, "scheduler-config", "",
				"KubeSchedulerConfiguration file for kube-scheduler (default: the default profile); its kubeconfig is filled in")
			fs.StringVar(&cfg.gpuNodes, "gpu-nodes", "",
				`comma-separated nvidia.com/gpu counts of simulated nodes to add, e.g. "8,4,2" adds gpu-node-1 with 8 cards, gpu-node-2 with 4, gpu-node-3 with 2 (default: no nodes)`)
		})
}
