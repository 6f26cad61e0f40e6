package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// name is the command as users type it.
const name = "kubectl gpuplane"

// exitRefused is explain's exit code for a request the webhook refuses, as
// `webhook explain` exits (SPEC §7).
const exitRefused = 2

// NewCommand returns the plugin's command line: cobra subcommands on
// kubectl's own flags. A bad command line prints a message and exits 1, as
// kubectl does.
func NewCommand() program.Command {
	return func(ctx context.Context, args []string, streams program.Streams) int {
		root, code := newRoot(streams)
		root.SetArgs(args)
		if err := root.ExecuteContext(ctx); err != nil {
			fmt.Fprintf(streams.Err, "error: %v\n", err)
			if *code != program.ExitOK {
				return *code
			}
			return program.ExitFailure
		}
		return *code
	}
}

// options are what every subcommand shares: kubectl's flags, -o and the
// catalog.
type options struct {
	kube    *genericclioptions.ConfigFlags
	output  string
	catalog string
	streams program.Streams
}

func newRoot(streams program.Streams) (*cobra.Command, *int) {
	code := new(int)
	o := &options{kube: genericclioptions.NewConfigFlags(true), streams: streams}
	root := &cobra.Command{
		Use:   "kubectl-gpuplane",
		Short: "The cluster's GPUs as gpuplane sees them",
		Long: `kubectl gpuplane shows the cluster's GPU nodes and pods as gpuplane's scheduler
extender books them, why a pod waits or where it landed, and what the webhook does
with a request; ui serves the extender's live page. It reads what the API server
holds and takes kubectl's flags (--kubeconfig, --context, -n, ...).`,
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: name},
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	o.kube.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&o.catalog, "catalog", "",
		"GPU catalog file (YAML), as the webhook's and extender's --catalog; empty uses the built-in catalog.")

	var allNamespaces bool
	nodes := &cobra.Command{
		Use:   "nodes",
		Short: "Each GPU node: its type, cards, whole cards free, shares and memory free per card, the node agent's conditions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.runNodes(cmd.Context())
		},
	}
	pods := &cobra.Command{
		Use:   "pods",
		Short: "Every GPU pod (all namespaces unless -n is given): its request, node, cards and state",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.runPods(cmd.Context(), allNamespaces)
		},
	}
	pods.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "List the pods of every namespace, even with -n.")
	why := &cobra.Command{
		Use:   "why POD",
		Short: "Why a pod is pending (the scheduler's reasons, per node, grouped), or where it landed and on which cards",
		Args:  exactArgs(1, "POD"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runWhy(cmd.Context(), args[0])
		},
	}
	var role, schedulerName string
	explain := &cobra.Command{
		Use:   "explain REQUEST",
		Short: "What the webhook does with a request, as `webhook explain` (exit 2 when it refuses it)",
		Args:  exactArgs(1, "REQUEST, such as '2(V100)'"),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := o.runExplain(args[0], role, schedulerName)
			*code = c
			return err
		},
	}
	explain.Flags().StringVar(&role, "role", "", "Role of the pod (train, service, notebook, or the catalog's).")
	explain.Flags().StringVar(&schedulerName, "scheduler-name", "", "Scheduler the webhook writes into GPU pods, as its --scheduler-name.")
	// Flags may follow the request, as kubectl's do; a request that starts
	// with "-" ("-1") comes after "--".

	u := uiOptions{service: defaultUIService, port: defaultUIPort, address: "127.0.0.1", opener: openBrowser}
	ui := &cobra.Command{
		Use:   "ui",
		Short: "Serve the extender's live page of the cluster's GPUs on 127.0.0.1, through the API server's service proxy, and print its URL",
		Long: `kubectl gpuplane ui serves the extender's web page (its --ui-address, a Service
the chart's ui.enabled or deploy/overlays/ui installs) on a local port: each GET
under the page's path is passed to the API server's service proxy with the
kubeconfig's credentials, as kubectl proxy does for that one path, so no
port-forward is needed. It prints the page's URL and serves until Ctrl-C.
The Service is looked up in -n's namespace, else gpuplane-system.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.runUI(cmd.Context(), u)
		},
	}
	ui.Flags().StringVar(&u.service, "service", u.service, "The Service of the extender's page.")
	ui.Flags().StringVar(&u.port, "service-port", u.port, "The Service's port of the page: a name or a number.")
	ui.Flags().StringVar(&u.address, "address", u.address, "The local address to serve on; keep it on the loopback (the port lends your credentials to whoever reaches it).")
	ui.Flags().IntVar(&u.localPort, "port", u.localPort, "The local port to serve on; 0: any free port.")
	ui.Flags().BoolVar(&u.open, "open", u.open, "Also open the page in the desktop's browser.")

	for _, c := range []*cobra.Command{nodes, pods, why} {
		c.Flags().StringVarP(&o.output, "output", "o", "", "Output format: wide, json or yaml.")
	}
	explain.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json (the default) or yaml.")
	root.AddCommand(nodes, pods, why, explain, ui)
	return root, code
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q (see %s --help)", cmd.CommandPath(), args, cmd.CommandPath())
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes one %s, got %d arguments (see %s --help)", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// client is the API server's client that kubectl's flags describe.
func (o *options) client() (kubernetes.Interface, error) {
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	return c, nil
}

// namespace is -n, or the kubeconfig context's namespace; explicit tells
// whether the user chose it.
func (o *options) namespace() (string, bool, error) {
	ns, explicit, err := o.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, fmt.Errorf("reading the namespace of the kubeconfig: %w", err)
	}
	return ns, explicit, nil
}

func (o *options) vocabulary() (*request.Vocabulary, error) {
	cat, err := catalog.LoadFile(o.catalog)
	if err != nil {
		return nil, err
	}
	return request.VocabularyFrom(cat), nil
}

func (o *options) runNodes(ctx context.Context) error {
	if err := checkOutput(o.output, true); err != nil {
		return err
	}
	v, err := o.vocabulary()
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	// Only pods bound to a node hold cards.
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName!="})
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	return WriteNodes(o.streams.Out, o.output, NodeViews(nodes.Items, pods.Items, v))
}

func (o *options) runPods(ctx context.Context, all bool) error {
	if err := checkOutput(o.output, true); err != nil {
		return err
	}
	v, err := o.vocabulary()
	if err != nil {
		return err
	}
	ns, explicit, err := o.namespace()
	if err != nil {
		return err
	}
	if all || !explicit {
		ns = metav1.NamespaceAll
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	return WritePods(o.streams.Out, o.output, PodViews(pods.Items, v))
}

func (o *options) runWhy(ctx context.Context, arg string) error {
	if err := checkOutput(o.output, false); err != nil {
		return err
	}
	v, err := o.vocabulary()
	if err != nil {
		return err
	}
	ns, _, err := o.namespace()
	if err != nil {
		return err
	}
	podName := arg
	if before, after, ok := strings.Cut(arg, "/"); ok {
		ns, podName = before, after
	}
	if podName == "" || ns == "" {
		return fmt.Errorf("%q is not a pod: give NAME or NAMESPACE/NAME", arg)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	pod, err := c.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading pod %s/%s: %w", ns, podName, err)
	}
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": pod.Name, "involvedObject.uid": string(pod.UID)}
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return fmt.Errorf("listing the events of pod %s/%s: %w", ns, podName, err)
	}
	var names []string
	if pod.Spec.NodeName == "" {
		// The node names tell the extender's per-node reasons apart from
		// kube-scheduler's counted ones.
		nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing nodes: %w", err)
		}
		for _, n := range nodes.Items {
			names = append(names, n.Name)
		}
	}
	return WriteWhy(o.streams.Out, o.output, Why(pod, events.Items, names, v))
}

// runExplain answers as `webhook explain` does, with the same function, and
// returns the exit code: 0, or 2 with the refusal as JSON.
func (o *options) runExplain(input, role, schedulerName string) (int, error) {
	out := o.output
	if out == outTable {
		out = outJSON
	}
	if err := checkOutput(o.output, false); err != nil {
		return program.ExitFailure, err
	}
	cat, err := catalog.LoadFile(o.catalog)
	if err != nil {
		return program.ExitFailure, err
	}
	e, err := webhook.Explain(input, role, cat, webhook.Options{SchedulerName: schedulerName})
	if err != nil {
		if werr := writeData(o.streams.Out, out, webhook.Refused{Input: input, Error: err.Error()}); werr != nil {
			return program.ExitFailure, werr
		}
		return exitRefused, nil
	}
	return program.ExitOK, writeData(o.streams.Out, out, e)
}
