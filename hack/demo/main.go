package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

type config struct {
	binDir   string
	jsonPath string
	keep     bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(exitOK)
	}
	if err != nil {
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, os.Stdout)
	// Whatever error an interrupted step returned, the interrupt is the story.
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil:
		os.Exit(exitOK)
	case interrupted:
		fmt.Fprintln(os.Stderr, "demo: interrupted")
		os.Exit(exitInterrupted)
	default:
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(exitFailed)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	return cluster.ParseFlags("demo", "Usage: demo [flags]   (run from the repository; `make demo` builds what it needs)\n\n"+
		"Starts a local control plane with gpuplane's webhook, extender and node agents on simulated\n"+
		"cards, submits GPU requests, prints where each landed and why, and stops everything.\n",
		args, stderr, func(fs *flag.FlagSet, cfg *config) {
			fs.StringVar(&cfg.binDir, "bin-dir", "",
				"directory holding etcd, kube-apiserver, kube-scheduler, webhook, extender and nodeagent (default: $GPUPLANE_BIN_DIR, else bin/ at the repository root)")
			fs.StringVar(&cfg.jsonPath, "json", "", "also write the outcome of every request, and the configuration files loaded, as JSON to this file")
			fs.BoolVar(&cfg.keep, "keep", false, "keep everything running after the table, for kubectl, until Ctrl-C")
		})
}

// run is the demo: setup, submit, report, and the teardown of everything, whatever
// happened (interrupts included).
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	root, err := cluster.WorkingRepoRoot()
	if err != nil {
		return err
	}
	// The demo's output is its own lines; the programs log into their files.
	ctx = klog.NewContext(ctx, logr.Discard())
	binDir := cfg.binDir
	if binDir == "" {
		if binDir, err = cluster.BinDir(); err != nil {
			return fmt.Errorf("%w (`make demo` builds them)", err)
		}
	}

	fmt.Fprintln(out, "gpuplane demo: a local control plane, gpuplane's webhook, extender and node agents on simulated cards.")
	e, err := setUp(ctx, root, binDir, out)
	defer func() {
		began, dir := time.Now(), ""
		if e.cluster != nil {
			dir = e.cluster.Dir()
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprint(out, e.logTails())
		}
		if stopErr := e.tearDown(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping: %w", stopErr))
			return
		}
		fmt.Fprintf(out, "Stopped every program and removed %s in %.1fs.\n", dir, time.Since(began).Seconds())
	}()
	if err != nil {
		return err
	}

	reqs := demoRequests()
	e.logf("ready; submitting %d requests one by one", len(reqs))
	results, err := e.submit(ctx, reqs)
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	if err := printTable(out, results); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, e, results); err != nil {
			return err
		}
	}
	if cfg.keep {
		fmt.Fprintf(out, "Still running (--keep); Ctrl-C stops it.\n  export KUBECONFIG=%s\n  kubectl get pods -n %s -o wide\n",
			e.cluster.KubeconfigPath(), demoNamespace)
		<-ctx.Done()
	}
	return nil
}

// report is the JSON the demo writes with --json.
type report struct {
	SchedulerConfig configFile   `json:"schedulerConfig"`
	WebhookConfigs  []configFile `json:"webhookConfigs"`
	SchedulerName   string       `json:"schedulerName"`
	Results         []result     `json:"results"`
}

func writeJSON(path string, e *env, results []result) error {
	data, err := json.MarshalIndent(report{
		SchedulerConfig: e.schedulerConfig,
		WebhookConfigs:  e.webhookConfigs,
		SchedulerName:   schedulerName,
		Results:         results,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the JSON report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}
