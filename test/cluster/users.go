package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// ConfigForUser returns a client configuration that authenticates as user in groups,
// with a client certificate signed by the cluster's CA. RBAC decides what it may do;
// group system:masters may do anything.
func (c *Cluster) ConfigForUser(user string, groups ...string) (*rest.Config, error) {
	if user == "" {
		return nil, fmt.Errorf("a client certificate needs a user name, got \"\"")
	}
	kp, err := c.ca.issueClient(user, groups)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host: c.host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.ca.certPEM,
			CertData: kp.certPEM,
			KeyData:  kp.keyPEM,
		},
		QPS:   clientQPS,
		Burst: clientBurst,
	}, nil
}

// ServiceAccountConfig returns a client configuration that authenticates as the
// ServiceAccount namespace/name with a token the API server issues (valid for an hour),
// as a pod running under that account would. The account is created when it does not
// exist yet; the namespace must exist.
func (c *Cluster) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	_, err := c.client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, name, err)
	}
	seconds := int64(3600)
	tr, err := c.client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}},
		metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return &rest.Config{
		Host:            c.host,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.ca.certPEM},
		BearerToken:     tr.Status.Token,
		QPS:             clientQPS,
		Burst:           clientBurst,
	}, nil
}

// WriteKubeconfig writes cfg (from Config, ConfigForUser or ServiceAccountConfig) as a
// self-contained kubeconfig named name in the cluster's directory and returns its path,
// for programs under test that take --kubeconfig.
func (c *Cluster) WriteKubeconfig(name string, cfg *rest.Config) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("kubeconfig name %q: want a plain file name", name)
	}
	path := filepath.Join(c.dir, name)
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("kubeconfig name %q: a file of that name exists already in the cluster directory", name)
	}
	if err := writeKubeconfig(path, cfg); err != nil {
		return "", err
	}
	return path, nil
}
