package app

import (
	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/nodeagent"
)

// Config is what the agent or check is started with, after flags. Default
// gives each zero field the default written on it (nodeagent.Options
// documents its own); the flags show the same defaults.
type Config struct {
	nodeagent.Options
	// Kubeconfig is the kubeconfig file; empty (the default): the in-cluster
	// configuration, or $KUBECONFIG outside a cluster.
	Kubeconfig string
	// Logging is the logging flags (-v, --vmodule, --logging-format); default
	// component-base's: text on standard error, verbosity 0.
	Logging logsapi.LoggingConfiguration
}

// agentOptions are the agent's options before the defaults: unlike check, it
// writes the runtime files and serves HTTP unless told otherwise.
func agentOptions() nodeagent.Options {
	return nodeagent.Options{ApplyRuntime: true, MetricsBindAddress: ":9401", HealthProbeBindAddress: ":8081"}
}

// Default returns c with every zero field set to its default.
func (c Config) Default() Config {
	c.Options = c.Options.Default()
	logsapi.SetRecommendedLoggingConfiguration(&c.Logging)
	return c
}

// LoggingConfiguration is c's logging flags, for program.WithLogging.
func (c Config) LoggingConfiguration() *logsapi.LoggingConfiguration { return &c.Logging }

// addCommonFlags binds the flags both modes share.
func (c *Config) addCommonFlags(fs *pflag.FlagSet) {
	o := &c.Options
	fs.StringVar(&o.CatalogFile, "catalog", o.CatalogFile,
		"GPU catalog file (YAML) that maps NVML product names to GPU types; empty uses the built-in catalog.")
	fs.StringVar(&o.FakeDevices, "fake-devices", o.FakeDevices,
		"Replace NVML with described cards: a spec such as \"8xV100\", \"8xV100@30%\" (utilisation) or \"4xV100,2xT4\", or a YAML/JSON file (a path, or a name ending in .yaml/.yml/.json) listing {type, product, count, memoryMiB, utilization, memoryUsedMiB, temperatureC, powerW, mig}. MIG profiles in parentheses put the cards in MIG mode with those instances: \"2xA100(3g.40gb|2g.20gb|1g.10gb)\". For demos and tests.")
	fs.BoolVar(&o.VGPU, "vgpu", o.VGPU,
		"The node's cards are shared through vGPU: label it vgpu=true and check the vGPU device plugin's resources instead of the whole-card one.")
	fs.StringVar(&o.Pool, "pool", o.Pool,
		"The catalog pool of the node: label it gpuplane.io/pool=<pool>. Empty: no pool label is written (one set by the operator is kept); the node is in the pool its label names, or in \"default\".")
	fs.StringVar(&o.Sharing, "sharing", o.Sharing,
		"The backend that shares the node's cards, gpu-manager, hami, mig or timeslice: label it gpuplane.io/sharing=<backend>. Empty: the sharing of --pool in the catalog, if it lists that pool.")
	fs.BoolVar(&o.DRA, "dra", o.DRA,
		"A DRA driver gives the node's cards out and its ResourceSlices list them: write no gpuplane.io/devices annotation (and remove the one the agent wrote). Also when the node's gpuplane.io/pool label names a catalog pool with allocation: dra.")
	fs.StringVar(&o.DockerConfig, "docker-config", o.DockerConfig,
		"docker's daemon.json (as seen by the agent, e.g. under a host mount). Configured when it or its directory exists, unless --runtime says otherwise.")
	fs.StringVar(&o.ContainerdConfig, "containerd-config", o.ContainerdConfig,
		"containerd's config.toml, version 2 or 3 (as seen by the agent). Configured when it or its directory exists, unless --runtime says otherwise.")
	fs.StringSliceVar(&o.Runtimes, "runtime", nil,
		"Container runtimes to configure: docker, containerd, or both separated by commas; default: each whose configuration file or directory exists.")
	fs.StringVar(&o.HostRoot, "host-root", o.HostRoot,
		"Where the host's root file system is mounted; the runtime files and --runtime-search-path are looked up under it. Leave at / when the paths given already include the mount.")
	fs.BoolVar(&o.DryRun, "dry-run", o.DryRun,
		"Print the diff of each runtime file that needs a change, and write nothing.")
	fs.BoolVar(&o.RestartRuntime, "restart-runtime", o.RestartRuntime,
		"Restart the container runtime after changing its file (running containers are affected); off: the runtime condition says a restart is needed.")
	fs.StringVar(&o.DockerRestartCommand, "docker-restart-command", o.DockerRestartCommand,
		"Command (split on spaces) that restarts docker; in a container it must reach the host's init, e.g. \"nsenter -t 1 -m -u -i -n -p -- systemctl restart docker\" with hostPID.")
	fs.StringVar(&o.ContainerdRestartCommand, "containerd-restart-command", o.ContainerdRestartCommand,
		"Command (split on spaces) that restarts containerd.")
	fs.StringVar(&o.RuntimeName, "runtime-name", o.RuntimeName,
		"Name of the NVIDIA runtime in the runtime files; it is made the default runtime.")
	fs.StringVar(&o.RuntimePath, "runtime-path", o.RuntimePath,
		"The NVIDIA runtime binary as written into the files: a bare name is looked up in the runtime's PATH, and its presence checked in --runtime-search-path.")
	fs.StringSliceVar(&o.RuntimeSearchPaths, "runtime-search-path", o.RuntimeSearchPaths,
		"Directories (of the host, see --host-root) where a bare --runtime-path must be found; the files are not changed while it is missing.")
	fs.StringVar(&o.ExporterURL, "exporter-url", o.ExporterURL,
		"URL where a dcgm-exporter is probed; it counts as running when it answers with DCGM_FI_DEV_GPU_UTIL.")
	fs.DurationVar(&o.ExporterTimeout, "exporter-timeout", o.ExporterTimeout,
		"Time limit of the exporter probe.")
	fs.BoolVar(&o.ServeMetrics, "serve-metrics", o.ServeMetrics,
		"When no dcgm-exporter answers, serve DCGM-named metrics (DCGM_FI_DEV_GPU_UTIL, _FB_USED, _FB_FREE, _GPU_TEMP, _POWER_USAGE) from NVML on --metrics-bind-address; the exporter condition is then True with reason ServedByNodeAgent.")
	fs.StringVar(&o.DevicePluginDir, "device-plugin-dir", o.DevicePluginDir,
		"The kubelet's device-plugin directory. check looks for the NVIDIA plugin's socket there (it cannot see the node's allocatable); the agent judges by allocatable and uses it to explain a missing resource.")
	fs.StringVar(&o.NodeName, "node-name", o.NodeName,
		"Name of this node's Node object, from the downward API (spec.nodeName). Required by the agent; check uses it only to name fake cards.")
}

// addAgentFlags binds the long-running agent's flags.
func (c *Config) addAgentFlags(fs *pflag.FlagSet) {
	c.addCommonFlags(fs)
	o := &c.Options
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig,
		"kubeconfig file of the API server; empty uses the in-cluster configuration (or $KUBECONFIG).")
	fs.BoolVar(&o.ApplyRuntime, "configure-runtime", o.ApplyRuntime,
		"Write the runtime files when they need a change; off: only check them.")
	fs.DurationVar(&o.Resync, "resync", o.Resync,
		"Time between passes when nothing changes; a change of the node's allocatable or of the keys the agent owns starts a pass at once.")
	fs.DurationVar(&o.BackoffBase, "backoff-base", o.BackoffBase,
		"First retry delay after a failed pass (NVML unreadable, API server unreachable); it doubles up to --backoff-max.")
	fs.DurationVar(&o.BackoffMax, "backoff-max", o.BackoffMax,
		"Longest retry delay after failed passes.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress,
		"Address of /metrics (gpuplane_nodeagent_* and, with --serve-metrics, the DCGM series); \"0\" turns it off.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress,
		"Address of /healthz and /readyz; \"0\" turns them off. May equal --metrics-bind-address.")
}

// addCheckFlags binds check's flags.
func (c *Config) addCheckFlags(fs *pflag.FlagSet) {
	c.addCommonFlags(fs)
	o := &c.Options
	fs.BoolVar(&o.ApplyRuntime, "apply", o.ApplyRuntime,
		"Fix the runtime files (the same code as the agent: atomic write, backup <file>.gpuplane.bak); without it they are only checked and the needed change is shown.")
}

// complete applies what the flags imply and validates.
func (c *Config) complete(flags *program.Flags, agent bool) error {
	if !flags.Changed("runtime") {
		c.Runtimes = nil
	}
	c.Options = c.Options.Default()
	return c.Validate(agent)
}
