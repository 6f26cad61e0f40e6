package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/extender"
)

// runFunc runs the server; extender.Run is the real one, tests pass their own
// to see the options the flags produced.
type runFunc func(ctx context.Context, o extender.Options, d extender.Deps) error

const serveUsage = `Usage:
  extender [flags]                  serve kube-scheduler (filter, prioritize, bind) on --listen
  extender simulate --help          replay a trace through the same placement code

`

// serveMain runs the server mode until SIGINT or SIGTERM and returns the
// exit code.
func serveMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, os.Stderr, extender.Run)
}

// serve parses the server's flags and runs it: 0 after a clean stop, 1 on a
// failure, 2 on bad flags.
func serve(ctx context.Context, args []string, stderr io.Writer, run runFunc) int {
	o := extender.DefaultOptions()
	fs := pflag.NewFlagSet("extender", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	o.AddFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	fs.Usage = func() { fmt.Fprintf(stderr, "%sServer flags:\n%s", serveUsage, fs.FlagUsages()) }
	switch err := fs.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "extender: %v (see --help)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "extender: unexpected argument %q; the server takes flags only (subcommands: simulate)\n", fs.Arg(0))
		return 2
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "extender: %v\n", err)
		return 2
	}
	ctx = klog.NewContext(ctx, klog.Background())
	if err := run(ctx, o, extender.Deps{}); err != nil {
		fmt.Fprintf(stderr, "extender: %v\n", err)
		return 1
	}
	return 0
}
