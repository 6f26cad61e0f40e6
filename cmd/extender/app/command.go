package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/sim"
)

// Exit codes of the program.
const (
	ExitOK     = 0
	ExitFailed = 1 // a failure at run time: no cluster, a port taken, a server that stopped
	ExitUsage  = 2 // bad flags or arguments
)

// Streams are the program's output streams.
type Streams struct {
	Out, Err io.Writer
}

// RunFunc runs the extender server until ctx ends. Run is the real one;
// tests pass their own to capture the options the flags produced.
type RunFunc func(ctx context.Context, o Options, d Deps) error

const usage = `Usage:
  extender [flags]                  serve kube-scheduler (filter, prioritize, bind) on --listen
  extender simulate --help          replay a trace through the same placement code
`

// Main runs the program with args (without the program name) and returns
// its exit code. run runs the server; simulate is handled here.
func Main(ctx context.Context, args []string, streams Streams, run RunFunc) int {
	if len(args) > 0 {
		switch args[0] {
		case "simulate":
			return runSimulate(args[1:], streams)
		case "help":
			fmt.Fprint(streams.Out, usage)
			return ExitOK
		}
	}
	return runServe(ctx, args, streams, run)
}

func runSimulate(args []string, streams Streams) int {
	err := sim.RunSimulate(args, streams.Out)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, sim.ErrUsage):
		fmt.Fprintln(streams.Err, "simulate:", err)
		return ExitUsage
	}
	fmt.Fprintln(streams.Err, "simulate:", err)
	return ExitFailed
}

// runServe parses the server's flags and runs it.
func runServe(ctx context.Context, args []string, streams Streams, run RunFunc) int {
	o := DefaultOptions()
	fs := pflag.NewFlagSet("extender", pflag.ContinueOnError)
	fs.SetOutput(streams.Err)
	fs.SortFlags = false // the server's own flags first, in their order, then logging's
	o.AddFlags(fs)
	addLogFlags(fs)
	fs.Usage = func() { fmt.Fprintf(streams.Err, "%s\nServer flags:\n%s", usage, fs.FlagUsages()) }
	switch err := fs.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		return ExitOK
	case err != nil:
		fmt.Fprintf(streams.Err, "extender: %v (see --help)\n", err)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(streams.Err, "extender: unexpected argument %q; the server takes flags only (subcommands: simulate)\n", fs.Arg(0))
		return ExitUsage
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(streams.Err, "extender: %v\n", err)
		return ExitUsage
	}
	ctx = klog.NewContext(ctx, klog.Background())
	if err := run(ctx, o, Deps{}); err != nil {
		fmt.Fprintf(streams.Err, "extender: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// addLogFlags adds klog's verbosity flags; logs go to stderr, where the
// container runtime collects them, so the file options are left out.
func addLogFlags(fs *pflag.FlagSet) {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(klogFlags.Lookup(name))
	}
}
