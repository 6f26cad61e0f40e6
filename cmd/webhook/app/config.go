package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	logsapi "k8s.io/component-base/logs/api/v1"
)

// Config is everything the webhook server is started with, after flags and
// defaults. Default gives each zero field the default written on it; the flags
// show the same defaults.
type Config struct {
	// Host is the address the webhook listens on; empty (the default) for
	// every address.
	Host string
	// Port is the webhook's TLS port. Default 9443. Default fills a zero Port,
	// so 0 set after it (as --port=0 does) listens on a port the kernel picks;
	// the address bound is logged ("Serving the admission webhook").
	Port int
	// CertDir holds tls.crt and tls.key, reloaded when they change. Ignored with
	// SelfSigned. Default $TMPDIR/k8s-webhook-server/serving-certs.
	CertDir string
	// Catalog is the catalog file; empty (the default) for the built-in catalog.
	Catalog string
	// SchedulerName is written into every pod carrying a GPU request; empty (the
	// default) leaves the pod's scheduler alone.
	SchedulerName string
	// PlacementResource is the extended resource a pod asking "0" gets one of, so
	// that the scheduler extender places it too (webhook.Options.PlacementResource);
	// empty (the default) gives none.
	PlacementResource string
	// MetricsBindAddress serves /metrics; "0" turns it off. Default ":8080".
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "0" turns it off.
	// Default ":8081".
	HealthProbeBindAddress string
	// SelfSigned makes the webhook keep its own CA and serving certificate in a Secret
	// and write the CA into the caBundle of its webhook configurations.
	SelfSigned bool
	// Namespace holds the Secret and the Service (SelfSigned). Default
	// "gpuplane-system"; the command sets $POD_NAMESPACE first when it is set.
	Namespace string
	// SecretName is the Secret of the certificates (SelfSigned). Default
	// "gpuplane-webhook-tls".
	SecretName string
	// ServiceName is the Service in front of the webhook, named by the certificate
	// (SelfSigned). Default "gpuplane-webhook".
	ServiceName string
	// WebhookConfigNames are the webhook configurations whose caBundle is kept
	// (SelfSigned). Default ["gpuplane-webhook"].
	WebhookConfigNames []string
	// CertDNSNames and CertIPs are added to the serving certificate (SelfSigned).
	CertDNSNames []string
	CertIPs      []net.IP
	// Kubeconfig is the kubeconfig file for the API server (SelfSigned); empty for the
	// in-cluster configuration, or $KUBECONFIG.
	Kubeconfig string
	// Logging is the logging flags (-v, --vmodule, --logging-format); default
	// component-base's: text on standard error, verbosity 0.
	Logging logsapi.LoggingConfiguration
}

// defaultNamespace is gpuplane's own namespace, where its programs run.
const defaultNamespace = "gpuplane-system"

// Default returns c with every zero field set to its default.
func (c Config) Default() Config {
	if c.Port == 0 {
		c.Port = 9443
	}
	if c.CertDir == "" {
		c.CertDir = filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
	if c.MetricsBindAddress == "" {
		c.MetricsBindAddress = ":8080"
	}
	if c.HealthProbeBindAddress == "" {
		c.HealthProbeBindAddress = ":8081"
	}
	if c.Namespace == "" {
		c.Namespace = defaultNamespace
	}
	if c.SecretName == "" {
		c.SecretName = "gpuplane-webhook-tls"
	}
	if c.ServiceName == "" {
		c.ServiceName = "gpuplane-webhook"
	}
	if c.WebhookConfigNames == nil {
		c.WebhookConfigNames = []string{"gpuplane-webhook"}
	}
	logsapi.SetRecommendedLoggingConfiguration(&c.Logging)
	return c
}

// LoggingConfiguration is c's logging flags, for program.WithLogging.
func (c Config) LoggingConfiguration() *logsapi.LoggingConfiguration { return &c.Logging }

// addFlags binds the flags of the server to c, whose values are the defaults shown.
func (c *Config) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Host, "host", c.Host,
		"Address the webhook listens on; empty listens on every address.")
	fs.IntVar(&c.Port, "port", c.Port,
		"TLS port of the webhook; the API server calls /mutate-v1-pod and /validate-workloads on it. 0 listens on a port the kernel picks and logs it.")
	fs.StringVar(&c.CertDir, "cert-dir", c.CertDir,
		"Directory holding tls.crt and tls.key (as a mounted cert-manager Secret does); they are reloaded when they change. Ignored with --self-signed.")
	fs.StringVar(&c.Catalog, "catalog", c.Catalog,
		"GPU catalog file (YAML); empty uses the built-in catalog.")
	fs.StringVar(&c.SchedulerName, "scheduler-name", c.SchedulerName,
		"Scheduler written into every pod with a GPU request (gpuplane's scheduler profile); empty leaves the pod's scheduler alone.")
	fs.StringVar(&c.PlacementResource, "placement-resource", c.PlacementResource,
		"Extended resource that a pod asking \"0\" or of a DRA pool gets one of, so that the scheduler extender, whose managedResources name it, places it too (the shipped configuration: gpuplane.io/placement); empty gives none. Set it only with a scheduler configuration that names it.")
	fs.StringVar(&c.MetricsBindAddress, "metrics-bind-address", c.MetricsBindAddress,
		"Address of the plain-HTTP /metrics endpoint; \"0\" turns it off.")
	fs.StringVar(&c.HealthProbeBindAddress, "health-probe-bind-address", c.HealthProbeBindAddress,
		"Address of the plain-HTTP /healthz and /readyz endpoints; \"0\" turns them off.")
	fs.BoolVar(&c.SelfSigned, "self-signed", c.SelfSigned,
		"Keep an own CA and serving certificate in a Secret, renew them before they expire, and write the CA into the caBundle of the webhook configurations; for clusters without cert-manager.")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace,
		"Namespace of the Secret and the Service (--self-signed); defaults to $POD_NAMESPACE when set.")
	fs.StringVar(&c.SecretName, "secret-name", c.SecretName,
		"Secret holding the CA and the serving certificate (--self-signed).")
	fs.StringVar(&c.ServiceName, "service-name", c.ServiceName,
		"Service in front of the webhook; the certificate names <service>.<namespace>.svc (--self-signed).")
	fs.StringSliceVar(&c.WebhookConfigNames, "webhook-config-name", c.WebhookConfigNames,
		"Name of the MutatingWebhookConfiguration and ValidatingWebhookConfiguration whose caBundle is kept; repeat or separate with commas (--self-signed).")
	fs.StringSliceVar(&c.CertDNSNames, "cert-dns-names", c.CertDNSNames,
		"Extra DNS names for the serving certificate (--self-signed).")
	fs.IPSliceVar(&c.CertIPs, "cert-ip-addresses", c.CertIPs,
		"Extra IP addresses for the serving certificate, such as 127.0.0.1 for a webhook the API server reaches by URL (--self-signed).")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig,
		"Kubeconfig for the API server (--self-signed); empty uses $KUBECONFIG or the in-cluster configuration.")
}

// validate checks c after the flags are parsed.
func (c Config) validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d: want a TCP port, 1 to 65535, or 0 for one the kernel picks", c.Port))
	}
	if c.SelfSigned {
		for flag, v := range map[string]string{"--namespace": c.Namespace, "--secret-name": c.SecretName, "--service-name": c.ServiceName} {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s is empty; --self-signed needs it", flag))
			}
		}
		if len(c.WebhookConfigNames) == 0 {
			errs = append(errs, errors.New("--webhook-config-name is empty; --self-signed needs the configurations to keep"))
		}
	} else if c.CertDir == "" {
		errs = append(errs, errors.New("--cert-dir is empty; give the directory of tls.crt and tls.key, or use --self-signed"))
	}
	if r := c.PlacementResource; r != "" {
		if prefix, _, ok := strings.Cut(r, "/"); !ok || len(validation.IsQualifiedName(r)) > 0 || prefix == "kubernetes.io" || strings.HasSuffix(prefix, ".kubernetes.io") {
			errs = append(errs, fmt.Errorf("--placement-resource %q: want an extended resource name outside kubernetes.io, such as gpuplane.io/placement, or empty for none", r))
		}
	}
	for _, a := range []struct{ flag, addr string }{
		{"--metrics-bind-address", c.MetricsBindAddress}, {"--health-probe-bind-address", c.HealthProbeBindAddress},
	} {
		if a.addr == "0" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port, :port, or 0 to turn it off", a.flag, a.addr))
		}
	}
	return errors.Join(errs...)
}
