package app

import (
	"context"
	"fmt"
	"os"

	"github.com/gpuplane/gpuplane/internal/program"
)

// ServeFunc runs the webhook server until ctx ends. Serve is the real one (main
// wraps it with program.WithLogging); tests pass their own to capture the
// configuration.
type ServeFunc func(ctx context.Context, cfg Config) error

const usage = `Usage:
  webhook [serve] [flags]                 run the admission webhook server
  webhook explain REQUEST [--role R] [--catalog FILE] [--scheduler-name S]
                                          what the webhook does with a request, as JSON
  webhook explain -f POD.yaml [--catalog FILE] [--scheduler-name S]
                                          the pod as the webhook admits it, as JSON
explain exits 0, or 2 with {"input": ..., "error": ...} when the webhook refuses.
Exit codes: 0 success, 1 failure, 2 bad flags or arguments.
`

// NewCommand returns the webhook's command line: serve (the default, or
// `serve`) parses the server's flags and runs serve with the configuration;
// explain and help are handled here.
func NewCommand(serve ServeFunc) program.Command {
	serveCmd := func(ctx context.Context, args []string, streams program.Streams) int {
		return program.Exit("webhook", streams.Err, runServe(ctx, args, streams, serve))
	}
	return program.Subcommands(serveCmd, map[string]program.Command{
		"serve":   serveCmd,
		"explain": runExplain,
		"help": func(_ context.Context, _ []string, streams program.Streams) int {
			fmt.Fprint(streams.Out, usage)
			return program.ExitOK
		},
	})
}

func runServe(ctx context.Context, args []string, streams program.Streams, serve ServeFunc) error {
	// The Deployment passes its namespace through the downward API.
	cfg := Config{Namespace: os.Getenv("POD_NAMESPACE")}.Default()
	flags := program.NewFlags("webhook", usage)
	cfg.addFlags(flags.Section("webhook"))
	flags.AddLogging(&cfg.Logging)
	if err := flags.ParseFlagsOnly(args, streams.Out); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return program.Usage(err)
	}
	return serve(ctx, cfg)
}
