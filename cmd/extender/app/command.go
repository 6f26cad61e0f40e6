package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/sim"
)

// ServeFunc runs the extender server until ctx ends. Serve is the real one
// (main wraps it with program.WithLogging); tests pass their own to capture
// the options the flags produced.
type ServeFunc func(ctx context.Context, o Options) error

const usage = `Usage:
  extender [flags]                  serve kube-scheduler (filter, prioritize, bind) on --listen
  extender simulate --help          replay a trace through the same placement code
Exit codes: 0 success, 1 failure, 2 bad flags or arguments.
`

// NewCommand returns the extender's command line: the server (the
// default) parses its flags and calls serve with the options; simulate and
// help are handled here.
func NewCommand(serve ServeFunc) program.Command {
	return program.Subcommands(
		func(ctx context.Context, args []string, streams program.Streams) int {
			return program.Exit("extender", streams.Err, runServe(ctx, args, streams, serve))
		},
		map[string]program.Command{
			"simulate": func(_ context.Context, args []string, streams program.Streams) int {
				err := sim.RunSimulateIO(args, streams.Out, streams.Err)
				if errors.Is(err, sim.ErrUsage) {
					err = program.Usage(err)
				}
				return program.Exit("extender simulate", streams.Err, err)
			},
			"help": func(_ context.Context, _ []string, streams program.Streams) int {
				fmt.Fprint(streams.Out, usage)
				return program.ExitOK
			},
		})
}

func runServe(ctx context.Context, args []string, streams program.Streams, serve ServeFunc) error {
	o := DefaultOptions()
	flags := program.NewFlags("extender", usage)
	o.AddFlags(flags.Section("extender"))
	flags.AddLogging(&o.Logging)
	if err := flags.ParseFlagsOnly(args, streams.Out); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return program.Usage(err)
	}
	return serve(ctx, o)
}

// Serve runs the extender server with o, everything else made from o; see
// Run.
func Serve(ctx context.Context, o Options) error { return Run(ctx, o, Deps{}) }
