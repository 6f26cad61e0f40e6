package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// Exit codes: check exits ExitNotReady when a checked step is not ready,
// and for anything that keeps it (or the agent) from running.
const (
	ExitOK       = 0
	ExitNotReady = 1
)

// Streams are the program's output streams.
type Streams struct {
	Out, Err io.Writer
}

// AgentFunc runs the agent until ctx ends.
type AgentFunc func(ctx context.Context, cfg Config, streams Streams) error

// CheckFunc runs one pass of the checklist, prints it to streams.Out and
// reports whether every checked step is ready.
type CheckFunc func(ctx context.Context, cfg Config, streams Streams) (bool, error)

const usage = `Usage:
  nodeagent [flags]          run the node agent (a DaemonSet on GPU nodes)
  nodeagent check [flags]    one pass of the node checklist, without the API server:
                             driver, devices, runtime, device plugin, exporter;
                             exits 0 when every checked step is ready, 1 otherwise
`

// Main runs the program with args (without the program name) and returns
// its exit code.
func Main(ctx context.Context, args []string, streams Streams, agent AgentFunc, check CheckFunc) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runCheck(ctx, args[1:], streams, check)
		case "help":
			fmt.Fprint(streams.Out, usage)
			return ExitOK
		}
	}
	return runAgent(ctx, args, streams, agent)
}

func runAgent(ctx context.Context, args []string, streams Streams, agent AgentFunc) int {
	cfg := defaultConfig(false)
	fs := newFlagSet("nodeagent", streams, "Agent flags")
	cfg.addAgentFlags(fs)
	if code, done := parse(fs, args, streams); done {
		return code
	}
	if err := cfg.complete(fs, true); err != nil {
		fmt.Fprintf(streams.Err, "nodeagent: %v\n", err)
		return ExitNotReady
	}
	if err := agent(ctx, cfg, streams); err != nil {
		fmt.Fprintf(streams.Err, "nodeagent: %v\n", err)
		return ExitNotReady
	}
	return ExitOK
}

func runCheck(ctx context.Context, args []string, streams Streams, check CheckFunc) int {
	cfg := defaultConfig(true)
	fs := newFlagSet("nodeagent check", streams, "Check flags")
	cfg.addCheckFlags(fs)
	if code, done := parse(fs, args, streams); done {
		return code
	}
	if err := cfg.complete(fs, false); err != nil {
		fmt.Fprintf(streams.Err, "nodeagent check: %v\n", err)
		return ExitNotReady
	}
	ready, err := check(ctx, cfg, streams)
	if err != nil {
		fmt.Fprintf(streams.Err, "nodeagent check: %v\n", err)
		return ExitNotReady
	}
	if !ready {
		return ExitNotReady
	}
	return ExitOK
}

func newFlagSet(name string, streams Streams, title string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(streams.Err)
	fs.SortFlags = false
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	fs.Usage = func() {
		fmt.Fprintf(streams.Err, "%s\n%s:\n%s", usage, title, fs.FlagUsages())
	}
	return fs
}

// parse parses args; done says the program ends here with code (help, bad
// flags, stray arguments).
func parse(fs *pflag.FlagSet, args []string, streams Streams) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return ExitOK, true
	case err != nil:
		fmt.Fprintf(streams.Err, "%s: %v (see --help)\n", fs.Name(), err)
		return ExitNotReady, true
	case fs.NArg() > 0:
		fmt.Fprintf(streams.Err, "%s: unexpected argument %q; it takes flags only\n", fs.Name(), fs.Arg(0))
		return ExitNotReady, true
	}
	return ExitOK, false
}
