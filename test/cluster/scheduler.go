package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// SchedulerUser is the identity kube-scheduler runs as; the API server's built-in RBAC
// roles grant it what a scheduler needs, as in a real cluster.
const SchedulerUser = "system:kube-scheduler"

// schedulerConfigAPIVersion is the KubeSchedulerConfiguration version filled in when the
// given configuration names none.
const schedulerConfigAPIVersion = "kubescheduler.config.k8s.io/v1"

// ErrSchedulerConfig marks a KubeSchedulerConfiguration the harness cannot use.
var ErrSchedulerConfig = errors.New("invalid scheduler configuration")

// SchedulerOptions say which KubeSchedulerConfiguration a scheduler runs with. Set at
// most one of Config and ConfigFile; with neither, the scheduler runs the default
// profile. The harness sets clientConnection.kubeconfig (the scheduler's own
// credentials) and, unless the configuration says otherwise, turns leader election
// off; profiles, extenders and plugin arguments are passed through untouched.
type SchedulerOptions struct {
	// Config is a KubeSchedulerConfiguration as YAML or JSON.
	Config []byte
	// ConfigFile is the path of a KubeSchedulerConfiguration file.
	ConfigFile string
}

// Scheduler is a running kube-scheduler.
type Scheduler struct {
	proc       *Process
	configPath string
}

// LogPath returns the path of the scheduler's log.
func (s *Scheduler) LogPath() string { return s.proc.LogPath() }

// ConfigPath returns the path of the configuration the scheduler was started with.
func (s *Scheduler) ConfigPath() string { return s.configPath }

// schedulerConfig returns the configuration the scheduler is started with: the given
// one with the client connection filled in.
func schedulerConfig(raw []byte, kubeconfig string) ([]byte, error) {
	doc := map[string]any{}
	if len(raw) > 0 {
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%w: not a YAML or JSON object: %w", ErrSchedulerConfig, err)
		}
		if doc == nil {
			doc = map[string]any{}
		}
	}
	if kind, ok := doc["kind"]; ok && kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("%w: kind %q, want KubeSchedulerConfiguration", ErrSchedulerConfig, kind)
	}
	doc["kind"] = "KubeSchedulerConfiguration"
	if _, ok := doc["apiVersion"]; !ok {
		doc["apiVersion"] = schedulerConfigAPIVersion
	}
	conn, err := object(doc, "clientConnection")
	if err != nil {
		return nil, err
	}
	conn["kubeconfig"] = kubeconfig
	election, err := object(doc, "leaderElection")
	if err != nil {
		return nil, err
	}
	if _, ok := election["leaderElect"]; !ok {
		// One scheduler per profile set: waiting for a lease only slows tests down.
		election["leaderElect"] = false
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the scheduler configuration: %w", err)
	}
	return out, nil
}

// object returns doc[key] as an object, creating it when absent.
func object(doc map[string]any, key string) (map[string]any, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		m := map[string]any{}
		doc[key] = m
		return m, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %T, want an object", ErrSchedulerConfig, key, v)
	}
	return m, nil
}

// StartScheduler starts a kube-scheduler and returns once it reports ready (its
// informers synced). It runs until Stop of the cluster.
func (c *Cluster) StartScheduler(ctx context.Context, opts SchedulerOptions) (*Scheduler, error) {
	raw := opts.Config
	if opts.ConfigFile != "" {
		if len(opts.Config) > 0 {
			return nil, fmt.Errorf("%w: both Config and ConfigFile given, set one", ErrSchedulerConfig)
		}
		var err error
		if raw, err = os.ReadFile(opts.ConfigFile); err != nil {
			return nil, fmt.Errorf("reading the scheduler configuration: %w", err)
		}
	}

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil, fmt.Errorf("starting a scheduler: the cluster is stopped")
	}
	name := "kube-scheduler-" + strconv.Itoa(len(c.schedulers)+1)
	// Reserve the name before unlocking so concurrent starts do not share files.
	c.schedulers = append(c.schedulers, nil)
	slot := len(c.schedulers) - 1
	c.mu.Unlock()

	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %w", name, err)
	}
	cmd, err := c.schedulerArgs(dir, raw)
	if err != nil {
		return nil, err
	}
	var s *Scheduler
	err = startOnFreePorts(ctx, name, 1, nil, func(ports []int) (*Process, error) {
		p, err := StartProcess(name, filepath.Join(c.opts.BinDir, "kube-scheduler"), cmd.args(ports[0]),
			filepath.Join(c.dir, name+".log"))
		if err != nil {
			return nil, err
		}
		s = &Scheduler{proc: p, configPath: cmd.configPath}
		c.mu.Lock()
		c.schedulers[slot] = s
		stopped := c.stopped
		c.mu.Unlock()
		if stopped {
			p.Stop(c.opts.StopGrace)
			return nil, fmt.Errorf("starting %s: the cluster was stopped meanwhile", name)
		}
		probe, err := c.schedulerProbe(ports[0])
		if err != nil {
			return p, err
		}
		return p, waitReady(ctx, p, c.opts.StartTimeout, func(ctx context.Context) (bool, string) {
			body, err := probe.Get().AbsPath("/readyz").Timeout(2 * time.Second).DoRaw(ctx)
			if err != nil {
				return false, fmt.Sprintf("GET /readyz: %v %s", err, body)
			}
			return true, ""
		})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

type schedulerCommand struct {
	// args is the command line for a scheduler serving on port.
	args       func(port int) []string
	configPath string
}

// schedulerArgs writes the scheduler's credentials, serving certificate and
// configuration into dir and returns its command line.
func (c *Cluster) schedulerArgs(dir string, raw []byte) (schedulerCommand, error) {
	cfg, err := c.ConfigForUser(SchedulerUser)
	if err != nil {
		return schedulerCommand{}, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, cfg); err != nil {
		return schedulerCommand{}, err
	}
	config, err := schedulerConfig(raw, kubeconfig)
	if err != nil {
		return schedulerCommand{}, err
	}
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, config, 0o600); err != nil {
		return schedulerCommand{}, fmt.Errorf("writing the scheduler configuration: %w", err)
	}
	serving, err := c.ca.issueServing([]string{"127.0.0.1", "localhost"})
	if err != nil {
		return schedulerCommand{}, err
	}
	certPath, keyPath := filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")
	if err := os.WriteFile(certPath, serving.certPEM, 0o600); err != nil {
		return schedulerCommand{}, fmt.Errorf("writing the scheduler's serving certificate: %w", err)
	}
	if err := os.WriteFile(keyPath, serving.keyPEM, 0o600); err != nil {
		return schedulerCommand{}, fmt.Errorf("writing the scheduler's serving key: %w", err)
	}
	args := func(port int) []string {
		return []string{
			"--config=" + configPath,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--tls-cert-file=" + certPath,
			"--tls-private-key-file=" + keyPath,
			// Delegated authentication and authorization of the scheduler's own
			// endpoints ask the API server, with the scheduler's credentials.
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
		}
	}
	return schedulerCommand{args: args, configPath: configPath}, nil
}

// schedulerProbe returns a REST client for the scheduler's own endpoints, verifying its
// serving certificate and presenting the admin certificate.
func (c *Cluster) schedulerProbe(port int) (rest.Interface, error) {
	cfg := c.Config()
	cfg.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a client for the scheduler's endpoints: %w", err)
	}
	return cs.Discovery().RESTClient(), nil
}
