package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpuplane/gpuplane/internal/program"
)

// RunFunc runs the agent until ctx ends, or one pass of the check. Agent and
// Check return the real ones (main wraps them with program.WithLogging); tests
// pass their own to capture the configuration.
type RunFunc func(ctx context.Context, cfg Config) error

// ErrNotReady is what the check's RunFunc returns when a checked step is not
// ready: check exits 1 then, with the checklist it printed as its message.
var ErrNotReady = errors.New("not every checked step is ready")

const usage = `Usage:
  nodeagent [flags]          run the node agent (a DaemonSet on GPU nodes)
  nodeagent check [flags]    one pass of the node checklist, without the API server:
                             driver, devices, runtime, device plugin, exporter;
                             exits 0 when every checked step is ready, 1 otherwise
Exit codes: 0 success (check: ready), 1 failure (check: not ready), 2 bad flags or arguments.
`

// NewCommand returns the node agent's command line: the agent (the default)
// and `check` parse their flags and call agent or check with the
// configuration; help is handled here.
func NewCommand(agent, check RunFunc) program.Command {
	return program.Subcommands(
		func(ctx context.Context, args []string, streams program.Streams) int {
			return program.Exit("nodeagent", streams.Err, runAgent(ctx, args, streams, agent))
		},
		map[string]program.Command{
			"check": func(ctx context.Context, args []string, streams program.Streams) int {
				err := runCheck(ctx, args, streams, check)
				if errors.Is(err, ErrNotReady) {
					// The checklist on stdout says which steps and why.
					return program.ExitFailure
				}
				return program.Exit("nodeagent check", streams.Err, err)
			},
			"help": func(_ context.Context, _ []string, streams program.Streams) int {
				fmt.Fprint(streams.Out, usage)
				return program.ExitOK
			},
		})
}

func runAgent(ctx context.Context, args []string, streams program.Streams, agent RunFunc) error {
	cfg := Config{Options: agentOptions()}.Default()
	flags := program.NewFlags("nodeagent", usage)
	cfg.addAgentFlags(flags.Section("agent"))
	flags.AddLogging(&cfg.Logging)
	if err := flags.ParseFlagsOnly(args, streams.Out); err != nil {
		return err
	}
	if err := cfg.complete(flags, true); err != nil {
		return program.Usage(err)
	}
	return agent(ctx, cfg)
}

func runCheck(ctx context.Context, args []string, streams program.Streams, check RunFunc) error {
	cfg := Config{}.Default()
	flags := program.NewFlags("nodeagent check", usage)
	cfg.addCheckFlags(flags.Section("check"))
	flags.AddLogging(&cfg.Logging)
	if err := flags.ParseFlagsOnly(args, streams.Out); err != nil {
		return err
	}
	if err := cfg.complete(flags, false); err != nil {
		return program.Usage(err)
	}
	return check(ctx, cfg)
}
