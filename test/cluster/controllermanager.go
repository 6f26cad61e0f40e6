package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ControllerManagerUser is the identity kube-controller-manager runs as. With
// --use-service-account-credentials each controller then acts as its own service
// account in kube-system, bound by the API server's built-in RBAC roles
// (system:controller:<name>), as in a real cluster.
const ControllerManagerUser = "system:kube-controller-manager"

// ControllerManagerOptions say which controllers a kube-controller-manager runs.
type ControllerManagerOptions struct {
	// Controllers are the controllers to run, as its --controllers flag names them,
	// e.g. resourceclaim-controller (claims from a pod's ResourceClaimTemplates) and
	// garbage-collector-controller (objects whose owner is gone).
	// Default: those two, what DRA pods need.
	Controllers []string
	// Args are appended to the command line; a flag given here wins over the same
	// flag set by the harness. Default: none.
	Args []string
}

// DRAControllers are the controllers a cluster needs for pods with ResourceClaims:
// the resourceclaim controller makes a pod's claims from its templates and deletes
// them with the pod; the garbage collector removes what the pod owned.
var DRAControllers = []string{"resourceclaim-controller", "garbage-collector-controller"}

// StartControllerManager starts a kube-controller-manager running opts.Controllers and
// returns once it reports healthy. It runs until Stop of the cluster. Clusters that
// do not call it run without one, as before; bin/kube-controller-manager need only
// exist for tests that do.
func (c *Cluster) StartControllerManager(ctx context.Context, opts ControllerManagerOptions) error {
	bin := filepath.Join(c.opts.BinDir, "kube-controller-manager")
	if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: kube-controller-manager not found as an executable in %q; `make tools` builds it (or set %s)",
			ErrBinariesMissing, c.opts.BinDir, EnvBinDir)
	}
	controllers := opts.Controllers
	if len(controllers) == 0 {
		controllers = DRAControllers
	}
	c.mu.Lock()
	if c.stopped || c.controllerManager != nil {
		c.mu.Unlock()
		return fmt.Errorf("starting kube-controller-manager: the cluster is stopped or already runs one")
	}
	c.mu.Unlock()

	const name = "kube-controller-manager"
	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", name, err)
	}
	cfg, err := c.ConfigForUser(ControllerManagerUser)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, cfg); err != nil {
		return err
	}
	serving, err := c.ca.issueServing([]string{"127.0.0.1", "localhost"})
	if err != nil {
		return err
	}
	certPath, keyPath := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")
	for path, data := range map[string][]byte{certPath: serving.certPEM, keyPath: serving.keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("writing the controller manager's serving certificate: %w", err)
		}
	}
	return startOnFreePorts(ctx, name, 1, func(p *Process) { c.setProcess(&c.controllerManager, p) }, func(ports []int) (*Process, error) {
		args := append([]string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--controllers=" + strings.Join(controllers, ","),
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--tls-cert-file=" + certPath,
			"--tls-private-key-file=" + keyPath,
		}, opts.Args...)
		p, err := StartProcess(name, bin, args, filepath.Join(c.dir, name+".log"))
		if err != nil {
			return nil, err
		}
		probe, err := c.schedulerProbe(ports[0])
		if err != nil {
			return p, err
		}
		return p, waitReady(ctx, p, c.opts.StartTimeout, func(ctx context.Context) (bool, string) {
			body, err := probe.Get().AbsPath("/healthz").Timeout(2 * time.Second).DoRaw(ctx)
			if err != nil {
				return false, fmt.Sprintf("GET /healthz: %v %s", err, body)
			}
			return true, ""
		})
	})
}
