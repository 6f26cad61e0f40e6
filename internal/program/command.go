package program

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

// Streams are a command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Command is a program's command line: it runs args (without the program's
// name) and returns the exit code. A program's app package builds it with a
// constructor that takes the run function.
type Command func(ctx context.Context, args []string, streams Streams) int

// Main runs cmd with the process's arguments and standard streams until
// SIGINT or SIGTERM ends its context, then exits with cmd's code. It is all
// a program's main does.
func Main(cmd Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	klog.Flush()
	os.Exit(code)
}

// Subcommands returns the command that runs subs[args[0]] with the rest of
// args, or def with all of args when the first names no subcommand (a flag,
// or nothing).
func Subcommands(def Command, subs map[string]Command) Command {
	return func(ctx context.Context, args []string, streams Streams) int {
		if len(args) > 0 {
			if sub, ok := subs[args[0]]; ok {
				return sub(ctx, args[1:], streams)
			}
		}
		return def(ctx, args, streams)
	}
}
