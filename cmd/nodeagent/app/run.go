package app

import (
	"context"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/nodeagent"
)

// userAgent names the agent in the API server's audit log.
const userAgent = "gpuplane-nodeagent"

// Agent returns the AgentFunc that runs the real agent on lib.
func Agent(lib nvml.Interface) AgentFunc {
	return func(ctx context.Context, cfg Config, streams Streams) error {
		restCfg, err := restConfig(cfg.Kubeconfig)
		if err != nil {
			return err
		}
		client, err := kubernetes.NewForConfig(rest.AddUserAgent(restCfg, userAgent))
		if err != nil {
			return fmt.Errorf("creating the Kubernetes client: %w", err)
		}
		ctx = klog.NewContext(ctx, klog.Background())
		return nodeagent.Run(ctx, cfg.Options, nodeagent.Deps{NVML: lib, Client: client, Out: streams.Out})
	}
}

// Check returns the CheckFunc that runs the real check on lib.
func Check(lib nvml.Interface) CheckFunc {
	return func(ctx context.Context, cfg Config, streams Streams) (bool, error) {
		ctx = klog.NewContext(ctx, klog.Background())
		return nodeagent.RunCheck(ctx, cfg.Options, nodeagent.Deps{NVML: lib, Out: streams.Out})
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the API server configuration (--kubeconfig %q, in-cluster, $KUBECONFIG): %w", kubeconfig, err)
	}
	return cfg, nil
}
