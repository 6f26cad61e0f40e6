package app

import (
	"context"
	"fmt"
	"io"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/nodeagent"
)

// userAgent names the agent in the API server's audit log.
const userAgent = "gpuplane-nodeagent"

// Agent returns the RunFunc that runs the real agent on lib; out takes the
// diffs of a dry run.
func Agent(lib nvml.Interface, out io.Writer) RunFunc {
	return func(ctx context.Context, cfg Config) error {
		restCfg, err := program.RESTConfig(cfg.Kubeconfig, userAgent)
		if err != nil {
			return err
		}
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return fmt.Errorf("creating the Kubernetes client: %w", err)
		}
		return nodeagent.Run(ctx, cfg.Options, nodeagent.Deps{NVML: lib, Client: client, Out: out})
	}
}

// Check returns the RunFunc that runs the real check on lib and prints the
// checklist to out; it returns ErrNotReady when a checked step is not ready.
func Check(lib nvml.Interface, out io.Writer) RunFunc {
	return func(ctx context.Context, cfg Config) error {
		ready, err := nodeagent.RunCheck(ctx, cfg.Options, nodeagent.Deps{NVML: lib, Out: out})
		if err == nil && !ready {
			err = ErrNotReady
		}
		return err
	}
}
