package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gpuplane/gpuplane/internal/httpserver"
)

// The Service of the extender's page as deploy/components/extender-ui and
// the chart's ui.enabled make it.
const (
	defaultUINamespace = "gpuplane-system"
	defaultUIService   = "gpuplane-extender-ui"
	defaultUIPort      = "ui"
)

// uiOptions are the flags of `kubectl gpuplane ui`.
type uiOptions struct {
	// service and port name the extender page's Service and its port (a
	// name or a number). Default gpuplane-extender-ui and ui.
	service, port string
	// address and localPort are where the local forwarder listens.
	// Default 127.0.0.1 and 0 (any free port).
	address   string
	localPort int
	// open opens the page in the desktop's browser. Default false.
	open bool
	// opener opens a URL in a browser; default the desktop's opener.
	opener func(ctx context.Context, url string) error
}

// proxyPath is the API server's service proxy path of the page: every URL
// in the page is relative to it.
func proxyPath(namespace, service, port string) string {
	return "/api/v1/namespaces/" + namespace + "/services/" + service + ":" + port + "/proxy/"
}

// checkUINames checks the names that go into the proxy path.
func checkUINames(namespace, service, port string) error {
	for _, c := range []struct{ what, v string }{{"namespace", namespace}, {"--service", service}} {
		if errs := validation.IsDNS1123Label(c.v); len(errs) > 0 {
			return fmt.Errorf("%s %q: %s", c.what, c.v, strings.Join(errs, "; "))
		}
	}
	if n, err := strconv.Atoi(port); err == nil {
		if errs := validation.IsValidPortNum(n); len(errs) > 0 {
			return fmt.Errorf("--service-port %q: %s", port, strings.Join(errs, "; "))
		}
	} else if errs := validation.IsValidPortName(port); len(errs) > 0 {
		return fmt.Errorf("--service-port %q: want a port name or number: %s", port, strings.Join(errs, "; "))
	}
	return nil
}

// runUI serves the extender's page on a local listener until ctx ends,
// forwarding each GET under the page's service proxy path to the API
// server with the kubeconfig's credentials.
func (o *options) runUI(ctx context.Context, u uiOptions) error {
	// The flags first, before the kubeconfig is read.
	if err := checkUINames(defaultUINamespace, u.service, u.port); err != nil {
		return err
	}
	ns, explicit, err := o.namespace()
	if err != nil {
		return err
	}
	if !explicit {
		ns = defaultUINamespace
	}
	if err := checkUINames(ns, u.service, u.port); err != nil {
		return err
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("connecting to the API server: %w", err)
	}
	// Said here rather than as a 503 in the browser.
	if _, err := c.CoreV1().Services(ns).Get(ctx, u.service, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("service %s/%s not found: the extender's page is off; install with it on "+
				"(helm --set ui.enabled=true, or kustomize deploy/overlays/ui), or name the Service with -n and --service", ns, u.service)
		}
		return fmt.Errorf("reading service %s/%s: %w", ns, u.service, err)
	}
	fwd, err := newForwarder(cfg, proxyPath(ns, u.service, u.port))
	if err != nil {
		return err
	}
	ln, err := httpserver.Listen("the page", net.JoinHostPort(u.address, strconv.Itoa(u.localPort)))
	if err != nil {
		return err
	}
	fwd.listenPort = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	page := "http://" + net.JoinHostPort(u.address, fwd.listenPort) + fwd.prefix
	fmt.Fprintf(o.streams.Out, "%s\n", page)
	fmt.Fprintf(o.streams.Err, "Serving the gpuplane page of service %s/%s through the API server's service proxy; Ctrl-C stops.\n", ns, u.service)
	if u.open {
		if err := u.opener(ctx, page); err != nil {
			fmt.Fprintf(o.streams.Err, "Could not open a browser (%v): open the URL above yourself.\n", err)
		}
	}
	return httpserver.Serve(ctx, ln, fwd, nil)
}

// forwarder passes GET and HEAD requests under prefix (the page's service
// proxy path) to the API server, with the kubeconfig's credentials; it
// refuses every other method, path and Host, so that the local port lends
// the credentials to nothing but reading the page.
type forwarder struct {
	prefix string
	proxy  *httputil.ReverseProxy
	// listenPort is the local port, for the Host check.
	listenPort string
}

func newForwarder(cfg *rest.Config, prefix string) (*forwarder, error) {
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("the API server's URL: %w", err)
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("the API server's transport: %w", err)
	}
	f := &forwarder{prefix: prefix}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(base)
			// The kubeconfig's credentials only: never what the browser
			// sends.
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Cookie")
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "reaching the API server: "+err.Error(), http.StatusBadGateway)
		},
	}
	return f, nil
}

// localHosts are the names a browser on this machine reaches the
// forwarder by; a request naming any other Host (DNS rebinding) is refused.
var localHosts = []string{"127.0.0.1", "localhost", "::1"}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the gpuplane page is read-only: GET only", http.StatusMethodNotAllowed)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != f.listenPort || !slices.Contains(localHosts, host) {
		http.Error(w, fmt.Sprintf("host %q refused: open the page at 127.0.0.1 or localhost", r.Host), http.StatusForbidden)
		return
	}
	switch {
	case r.URL.Path == "/" || r.URL.Path+"/" == f.prefix:
		http.Redirect(w, r, f.prefix, http.StatusFound)
	case strings.HasPrefix(r.URL.Path, f.prefix) && !strings.Contains(r.URL.Path, ".."):
		f.proxy.ServeHTTP(w, r)
	default:
		http.Error(w, "not the gpuplane page: it is at "+f.prefix, http.StatusNotFound)
	}
}

// openBrowser opens url with the desktop's opener.
func openBrowser(ctx context.Context, url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.CommandContext(ctx, "open", url)
	case "windows":
		cmd = exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.CommandContext(ctx, "xdg-open", url)
	}
	return cmd.Start()
}
