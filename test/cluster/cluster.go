package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// AdminUser and AdminGroup are the identity of the cluster's admin kubeconfig: a member
// of system:masters, which RBAC lets do anything.
const (
	AdminUser  = "gpuplane-admin"
	AdminGroup = "system:masters"
)

// clientQPS and clientBurst let test clients create objects quickly; the client-go
// defaults (5, 10) throttle a test that creates a few dozen objects.
const (
	clientQPS   = 100
	clientBurst = 200
)

// Cluster is a running control plane. Its methods may be called from several goroutines.
type Cluster struct {
	opts           Options
	dir            string
	ca             *certAuthority
	host           string
	config         *rest.Config
	client         kubernetes.Interface
	kubeconfigPath string
	startup        time.Duration

	mu         sync.Mutex
	etcd       *Process
	apiServer  *Process
	schedulers []*Scheduler
	// controllerManager is nil unless StartControllerManager was called.
	controllerManager *Process
	stopped           bool
}

// Start starts etcd and the API server and returns once the API server reports ready.
// ctx bounds the start only: the programs run until Stop. On error nothing is left
// running and the directory is removed; the error carries the end of the failing
// program's log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	began := time.Now()
	opts, err := opts.Default()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.TempDir, "gpuplane-cluster-")
	if err != nil {
		return nil, fmt.Errorf("creating the cluster directory: %w", err)
	}
	c := &Cluster{opts: opts, dir: dir}
	if err := c.start(ctx); err != nil {
		// The logs go with the directory; the error already holds their ends.
		return nil, errors.Join(err, c.Stop())
	}
	c.startup = time.Since(began)
	klog.FromContext(ctx).Info("Control plane ready", "host", c.host, "dir", dir, "startup", c.startup)
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	var err error
	if c.ca, err = newCertAuthority("gpuplane-test-ca", c.opts.Now); err != nil {
		return err
	}
	files, err := c.writePKI()
	if err != nil {
		return err
	}
	var etcdURL string
	err = startOnFreePorts(ctx, "etcd", 2, func(p *Process) { c.setProcess(&c.etcd, p) }, func(ports []int) (*Process, error) {
		p, url, err := startEtcd(ctx, c.opts.BinDir, c.dir, ports, c.opts.StartTimeout)
		etcdURL = url
		return p, err
	})
	if err != nil {
		return err
	}
	return startOnFreePorts(ctx, "kube-apiserver", 1, func(p *Process) { c.setProcess(&c.apiServer, p) }, func(ports []int) (*Process, error) {
		if err := c.connect(ports[0]); err != nil {
			return nil, err
		}
		return startAPIServer(ctx, c.opts.BinDir, c.dir, files, etcdURL, ports[0],
			c.opts.APIServerArgs, c.client, c.opts.StartTimeout)
	})
}

// connect sets the API server's address, the admin's client and kubeconfig for an API
// server on port.
func (c *Cluster) connect(port int) error {
	var err error
	c.host = "https://127.0.0.1:" + strconv.Itoa(port)
	if c.config, err = c.ConfigForUser(AdminUser, AdminGroup); err != nil {
		return err
	}
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return fmt.Errorf("creating the admin client: %w", err)
	}
	c.kubeconfigPath = filepath.Join(c.dir, "kubeconfig")
	return writeKubeconfig(c.kubeconfigPath, c.config)
}

func (c *Cluster) setProcess(slot **Process, p *Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*slot = p
}

// writePKI writes the API server's certificates and keys into the cluster directory.
func (c *Cluster) writePKI() (apiServerFiles, error) {
	pki := filepath.Join(c.dir, "pki")
	if err := os.Mkdir(pki, 0o700); err != nil {
		return apiServerFiles{}, fmt.Errorf("creating the certificate directory: %w", err)
	}
	serving, err := c.ca.issueServing([]string{"127.0.0.1", "localhost", kubernetesSvcIP,
		"kubernetes", "kubernetes.default", "kubernetes.default.svc"})
	if err != nil {
		return apiServerFiles{}, err
	}
	proxy, err := c.ca.issueClient(frontProxyUser, nil)
	if err != nil {
		return apiServerFiles{}, err
	}
	saPrivate, saPublic, err := newServiceAccountKey()
	if err != nil {
		return apiServerFiles{}, err
	}
	f := apiServerFiles{
		servingCert: filepath.Join(pki, "apiserver.crt"),
		servingKey:  filepath.Join(pki, "apiserver.key"),
		clientCA:    filepath.Join(pki, "ca.crt"),
		saPublic:    filepath.Join(pki, "sa.pub"),
		saPrivate:   filepath.Join(pki, "sa.key"),
		proxyCert:   filepath.Join(pki, "front-proxy-client.crt"),
		proxyKey:    filepath.Join(pki, "front-proxy-client.key"),
	}
	for path, data := range map[string][]byte{
		f.servingCert: serving.certPEM, f.servingKey: serving.keyPEM, f.clientCA: c.ca.certPEM,
		f.saPublic: saPublic, f.saPrivate: saPrivate, f.proxyCert: proxy.certPEM, f.proxyKey: proxy.keyPEM,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return apiServerFiles{}, fmt.Errorf("writing the control plane's keys: %w", err)
		}
	}
	return f, nil
}

// Stop stops every program of the cluster (schedulers first, etcd last), waits for
// them to exit and removes the cluster's directory. Calling it again does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	schedulers, apiServer, etcd := c.schedulers, c.apiServer, c.etcd
	controllerManager := c.controllerManager
	c.mu.Unlock()

	if controllerManager != nil {
		controllerManager.Stop(c.opts.StopGrace)
	}

	for _, s := range schedulers {
		if s != nil { // nil: a start that failed before its program ran
			s.proc.Stop(c.opts.StopGrace)
		}
	}
	for _, p := range []*Process{apiServer, etcd} {
		if p != nil {
			p.Stop(c.opts.StopGrace)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing the cluster directory: %w", err)
	}
	return nil
}

// Config returns a copy of the admin client configuration (user AdminUser in group
// system:masters).
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Client returns a clientset acting as the admin.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// KubeconfigPath returns the path of the admin kubeconfig, valid until Stop.
func (c *Cluster) KubeconfigPath() string { return c.kubeconfigPath }

// Host returns the API server's URL.
func (c *Cluster) Host() string { return c.host }

// Dir returns the cluster's directory: certificates, etcd data, kubeconfigs and the
// programs' logs (<program>.log). Stop removes it.
func (c *Cluster) Dir() string { return c.dir }

// StartupDuration is how long Start took, from its call until the API server was ready.
func (c *Cluster) StartupDuration() time.Duration { return c.startup }

// CABundle returns the PEM certificate of the cluster's CA: the API server serves with a
// certificate it signed, trusts client certificates it signed, and webhook
// configurations can name it as caBundle for serving certificates from
// IssueServingCert.
func (c *Cluster) CABundle() []byte { return append([]byte(nil), c.ca.certPEM...) }

// IssueServingCert returns a serving certificate, signed by the cluster's CA, for a
// server the API server calls, such as an admission webhook on 127.0.0.1. hosts are
// DNS names or IP addresses; the first is also the common name.
func (c *Cluster) IssueServingCert(hosts ...string) (tls.Certificate, error) {
	kp, err := c.ca.issueServing(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	return kp.tlsCertificate()
}

// LogTails returns the end of every program's log, each under a header, for a test
// that failed.
func (c *Cluster) LogTails() string {
	c.mu.Lock()
	procs := []*Process{c.etcd, c.apiServer}
	for _, s := range c.schedulers {
		if s != nil {
			procs = append(procs, s.proc)
		}
	}
	procs = append(procs, c.controllerManager)
	c.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "----- end of %s -----\n%s\n", p.LogPath(), p.LogTail(logTailBytes))
	}
	return b.String()
}
