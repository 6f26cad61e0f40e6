package cluster

import (
	"flag"
	"fmt"
	"io"
)

// ParseFlags parses the command line of a program of the test bed that takes
// flags only (cmd/cluster, the demo) into a configuration C: add binds the
// program's flags to its fields, and usage heads the help, before the flags. -h and --help print the help and return
// flag.ErrHelp; a bad flag or a stray argument prints what was wrong and the
// help on stderr and returns an error.
func ParseFlags[C any](name, usage string, args []string, stderr io.Writer, add func(fs *flag.FlagSet, cfg *C)) (C, error) {
	var cfg, zero C
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	add(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return zero, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q; it takes flags only\n", name, fs.Args())
		fs.Usage()
		return zero, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, nil
}
