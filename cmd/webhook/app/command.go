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

// Exit codes of the program.
const (
	ExitOK      = 0
	ExitFailed  = 1 // a failure: bad flags, unreadable files, a server that stopped
	ExitRefused = 2 // explain: the webhook refuses the request
)

// Streams are the program's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// ServeFunc runs the webhook server until ctx ends. Serve is the real one; tests pass
// their own to capture the configuration.
type ServeFunc func(ctx context.Context, cfg Config) error

const usage = `Usage:
  webhook [serve] [flags]                 run the admission webhook server
  webhook explain REQUEST [--role R] [--catalog FILE] [--scheduler-name S]
                                          what the webhook does with a request, as JSON
  webhook explain -f POD.yaml [--catalog FILE] [--scheduler-name S]
                                          the pod as the webhook admits it, as JSON

explain exits 0, or 2 with {"input": ..., "error": ...} when the webhook refuses.
`

// Main runs the program with args (without the program name) and returns its exit
// code. serve runs the server; explain is handled here.
func Main(ctx context.Context, args []string, streams Streams, serve ServeFunc) int {
	if len(args) > 0 {
		switch args[0] {
		case "explain":
			return runExplain(ctx, args[1:], streams)
		case "serve":
			args = args[1:]
		case "help":
			fmt.Fprint(streams.Out, usage)
			return ExitOK
		}
	}
	return runServe(ctx, args, streams, serve)
}

func runServe(ctx context.Context, args []string, streams Streams, serve ServeFunc) int {
	cfg := defaultConfig()
	fs := pflag.NewFlagSet("webhook", pflag.ContinueOnError)
	fs.SetOutput(streams.Err)
	cfg.addFlags(fs)
	addLogFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(streams.Err, "%s\nServer flags:\n%s", usage, fs.FlagUsages())
	}
	if code, done := parse(fs, args, streams.Err); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(streams.Err, "webhook: unexpected argument %q; the server takes flags only\n", fs.Arg(0))
		return ExitFailed
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(streams.Err, "webhook: %v\n", err)
		return ExitFailed
	}
	if err := serve(ctx, cfg); err != nil {
		fmt.Fprintf(streams.Err, "webhook: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// parse parses args; done says the program ends here with code (help, or bad flags).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return ExitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", fs.Name(), err)
		return ExitFailed, true
	}
	return ExitOK, false
}

// addLogFlags adds klog's verbosity flags; logs go to stderr, where the container
// runtime collects them, so the file options are left out.
func addLogFlags(fs *pflag.FlagSet) {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(klogFlags.Lookup(name))
	}
}
