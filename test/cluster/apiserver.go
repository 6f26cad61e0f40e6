package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Service network of the cluster; nothing routes it, but the API server needs one and
// its first address must be in the serving certificate.
const (
	serviceCIDR      = "10.96.0.0/16"
	kubernetesSvcIP  = "10.96.0.1"
	serviceAccountIs = "https://kubernetes.default.svc"
)

// apiServerFiles are the files the API server reads.
type apiServerFiles struct {
	servingCert, servingKey string
	clientCA                string
	saPublic, saPrivate     string
	proxyCert, proxyKey     string
}

// frontProxyUser is the identity the API server presents when it proxies a request to
// an aggregated API server; those, and kube-scheduler's delegated authentication,
// trust request headers only from a client certificate with this name.
const frontProxyUser = "front-proxy-client"

// apiServerArgs returns the API server's command line.
//
// Authorization is Node,RBAC as in a real cluster, so tests can check what a
// ServiceAccount may do. The ServiceAccount admission plugin is off because no
// controller manager runs to create each namespace's "default" account, without which
// every pod would be refused. Priority and fairness is off: it only costs start-up time
// here. The endpoint reconciler is off: it refuses a loopback advertise address, and
// nothing in this cluster reaches the API server through the kubernetes Service.
// Admission webhooks and ValidatingAdmissionPolicy stay on, as by default.
func apiServerArgs(f apiServerFiles, etcdURL string, port int, certDir string) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + f.servingCert,
		"--tls-private-key-file=" + f.servingKey,
		"--client-ca-file=" + f.clientCA,
		"--service-account-issuer=" + serviceAccountIs,
		"--service-account-key-file=" + f.saPublic,
		"--service-account-signing-key-file=" + f.saPrivate,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--requestheader-client-ca-file=" + f.clientCA,
		"--requestheader-allowed-names=" + frontProxyUser,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + f.proxyCert,
		"--proxy-client-key-file=" + f.proxyKey,
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

// startAPIServer starts the API server and waits until /readyz answers ok.
func startAPIServer(ctx context.Context, binDir, dir string, files apiServerFiles, etcdURL string, port int,
	extra []string, client kubernetes.Interface, timeout time.Duration) (*Process, error) {
	args := append(apiServerArgs(files, etcdURL, port, filepath.Join(dir, "apiserver-certs")), extra...)
	p, err := StartProcess("kube-apiserver", filepath.Join(binDir, "kube-apiserver"), args,
		filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	rc := client.Discovery().RESTClient()
	err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, string) {
		body, err := rc.Get().AbsPath("/readyz").Timeout(2 * time.Second).DoRaw(ctx)
		if err != nil {
			return false, fmt.Sprintf("GET /readyz: %v %s", err, body)
		}
		return true, ""
	})
	return p, err
}
