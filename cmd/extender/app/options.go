package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/gpuplane/gpuplane/pkg/extender"
	"github.com/gpuplane/gpuplane/pkg/load"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Options configure the extender program; the flags of `extender` map to
// them one to one. Defaults are applied in DefaultOptions.
type Options struct {
	// Listen is the address of the HTTP server. Default ":8888".
	Listen string
	// Kubeconfig is the kubeconfig file; empty means $KUBECONFIG, else the
	// in-cluster service account.
	Kubeconfig string
	// KubeQPS and KubeBurst bound requests to the API server; a bind costs
	// one or two. Default 100 and 200.
	KubeQPS   float32
	KubeBurst int
	// Policy is the placement policy. Default auto.
	Policy string
	// Catalog is a catalog file; empty means the built-in one.
	Catalog string
	// AssumeTTL is how long a bind the informer has not shown yet holds its
	// cards. Default 5m.
	AssumeTTL time.Duration
	// MaxBodyBytes bounds a request body. Default 64 MiB.
	MaxBodyBytes int64
	// MetricsBindAddress, when not "0" or empty, also serves /metrics
	// there, for a scrape from outside the pod while Listen stays on the
	// loopback. Default "0".
	MetricsBindAddress string
	// ProbeBindAddress, when not "0" or empty, also serves /healthz and
	// /readyz there, for kubelet probes. Default "0".
	ProbeBindAddress string
	// UIAddress, when not empty or "0", serves the read-only web page of the
	// cluster's GPUs (pkg/extender/ui) there. Default "": no page, and
	// filter keeps no reasons for it.
	UIAddress string
	// Load is where GPU load comes from; Load.URL empty means none.
	Load load.Config
	// Logging is the logging flags (-v, --vmodule, --logging-format);
	// default component-base's recommended configuration.
	Logging logsapi.LoggingConfiguration
}

// LoggingConfiguration is o's logging flags, for program.WithLogging.
func (o Options) LoggingConfiguration() *logsapi.LoggingConfiguration { return &o.Logging }

// DefaultOptions returns the options with every default applied.
func DefaultOptions() Options {
	o := Options{
		Listen:             ":8888",
		KubeQPS:            100,
		KubeBurst:          200,
		Policy:             placement.PolicyAuto,
		AssumeTTL:          5 * time.Minute,
		MaxBodyBytes:       extender.DefaultMaxBodyBytes,
		MetricsBindAddress: "0",
		ProbeBindAddress:   "0",
		Load: load.Config{
			Interval: load.DefaultInterval, StaleAfter: load.DefaultStaleAfter, Window: load.DefaultWindow,
			UtilMetric: load.DefaultUtilMetric, MemoryMetric: load.DefaultMemoryMetric,
			NodeLabel: load.DefaultNodeLabel, IndexLabel: load.DefaultIndexLabel, UUIDLabel: load.DefaultUUIDLabel,
		},
	}
	logsapi.SetRecommendedLoggingConfiguration(&o.Logging)
	return o
}

// AddFlags registers the options' flags on fs, with o's values as defaults.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", o.Listen, "Address the HTTP server listens on (filter, prioritize, bind, healthz, readyz, metrics, state).")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig file of the cluster; empty: $KUBECONFIG, else the in-cluster service account.")
	fs.Float32Var(&o.KubeQPS, "kube-api-qps", o.KubeQPS, "Requests per second to the API server; each bind makes one or two.")
	fs.IntVar(&o.KubeBurst, "kube-api-burst", o.KubeBurst, "Burst of requests to the API server.")
	fs.StringVar(&o.Policy, "policy", o.Policy, "Placement policy: "+strings.Join(placement.Builtin().Names(), ", ")+
		". auto is fragmentation-aware against the workload mix learned from the pods seen, and load-aware with --prometheus-url.")
	fs.StringVar(&o.Catalog, "catalog", o.Catalog, "GPU catalog file (resources, labels, types); empty: the built-in catalog.")
	fs.DurationVar(&o.AssumeTTL, "assume-ttl", o.AssumeTTL, "How long a bind holds its cards before the informer shows the pod bound; longer is safer against a slow watch.")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", o.MaxBodyBytes, "Largest request body accepted (without nodeCacheCapable a filter carries every candidate Node).")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Also serve /metrics on this address (e.g. :8080) while --listen stays on the loopback; \"0\": only on --listen.")
	fs.StringVar(&o.ProbeBindAddress, "probe-bind-address", o.ProbeBindAddress, "Also serve /healthz and /readyz on this address (e.g. :8081) for kubelet probes; \"0\": only on --listen.")
	fs.StringVar(&o.UIAddress, "ui-address", o.UIAddress, "Serve the read-only web page of the cluster's GPUs on this address (e.g. :8082); empty: no page.")
	fs.StringVar(&o.Load.URL, "prometheus-url", o.Load.URL, "Prometheus server to read GPU load (DCGM metrics) from; empty: score without load.")
	fs.DurationVar(&o.Load.Interval, "load-interval", o.Load.Interval, "How often GPU load is read from Prometheus; scheduling never waits on it.")
	fs.IntVar(&o.Load.StaleAfter, "load-stale-after", o.Load.StaleAfter, "Load older than this many intervals is ignored (scored without load).")
	fs.DurationVar(&o.Load.Window, "load-window", o.Load.Window, "Average each card's load over this window; 0: the instant value.")
	fs.StringVar(&o.Load.UtilMetric, "load-util-metric", o.Load.UtilMetric, "Metric of GPU utilisation in percent.")
	fs.StringVar(&o.Load.MemoryMetric, "load-memory-metric", o.Load.MemoryMetric, "Metric of GPU memory used in MiB.")
	fs.StringVar(&o.Load.NodeLabel, "load-node-label", o.Load.NodeLabel, "Label of the load metrics that holds the node name.")
	fs.StringVar(&o.Load.IndexLabel, "load-index-label", o.Load.IndexLabel, "Label of the load metrics that holds the card index.")
	fs.StringVar(&o.Load.UUIDLabel, "load-uuid-label", o.Load.UUIDLabel, "Label of the load metrics that holds the card UUID.")
}

// ErrOptions is wrapped by every Validate error.
var ErrOptions = errors.New("invalid options")

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...)))
	}
	if o.Listen == "" {
		bad("--listen is empty; want an address such as :8888")
	}
	if _, _, err := extender.NewPolicy(o.Policy); err != nil {
		bad("--policy %q: want one of %s", o.Policy, strings.Join(placement.Builtin().Names(), ", "))
	}
	if o.AssumeTTL < time.Second {
		bad("--assume-ttl %s is below 1s", o.AssumeTTL)
	}
	if o.MaxBodyBytes < 1<<10 {
		bad("--max-body-bytes %d is below 1024", o.MaxBodyBytes)
	}
	if o.KubeQPS <= 0 || o.KubeBurst <= 0 {
		bad("--kube-api-qps %v and --kube-api-burst %d must be positive", o.KubeQPS, o.KubeBurst)
	}
	if o.Load.URL != "" {
		if err := o.Load.Default().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: GPU load: %w", ErrOptions, err))
		}
	}
	return errors.Join(errs...)
}
