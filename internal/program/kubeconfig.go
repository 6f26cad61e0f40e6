package program

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig is the API server configuration every program uses, found the
// way kubectl finds it: the file kubeconfig names, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account. userAgent names the
// program in the API server's logs and audit.
func RESTConfig(kubeconfig, userAgent string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the API server configuration (--kubeconfig %q, $KUBECONFIG, in-cluster): %w", kubeconfig, err)
	}
	cfg.UserAgent = userAgent
	return cfg, nil
}
