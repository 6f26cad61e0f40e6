package program

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
)

// Flags is a command's flags in sections, shown by --help in the order they
// were added: the program's own first, the logging flags last.
type Flags struct {
	name, usage string
	sections    cliflag.NamedFlagSets
	logging     *logsapi.LoggingConfiguration
	// dashArgs: see SingleDashArgs.
	dashArgs bool
}

// NewFlags returns the flags of the command name ("webhook", "nodeagent
// check"); usage is the text --help prints before them.
func NewFlags(name, usage string) *Flags {
	return &Flags{name: name, usage: usage}
}

// Section returns the section titled title ("webhook" is shown as "Webhook
// flags:"), adding it after the others the first time.
func (f *Flags) Section(title string) *pflag.FlagSet {
	return f.sections.FlagSet(title)
}

// AddLogging adds the "logging" section, bound to c: component-base's
// logging flags (-v, --vmodule, --logging-format, --log-flush-frequency and
// the format options). Parse validates them.
func (f *Flags) AddLogging(c *logsapi.LoggingConfiguration) {
	fs := f.Section("logging")
	logsapi.AddFlags(c, fs)
	// The alpha options need the LoggingAlphaOptions feature gate, which no
	// program of ours turns on: Parse would refuse them, so help does not
	// offer them.
	for _, name := range []string{"log-text-split-stream", "log-text-info-buffer-size", "log-json-split-stream", "log-json-info-buffer-size"} {
		if fs.Lookup(name) != nil {
			_ = fs.MarkHidden(name)
		}
	}
	f.logging = c
}

// Parse parses args and returns the arguments that are not flags. On -h or
// --help it prints the help to out and returns pflag.ErrHelp; a bad flag or
// bad logging flags give a UsageError naming the flag.
func (f *Flags) Parse(args []string, out io.Writer) ([]string, error) {
	fs := pflag.NewFlagSet(f.name, pflag.ContinueOnError)
	// Errors are returned, and help is printed by Help: pflag writes nothing.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, name := range f.sections.Order {
		fs.AddFlagSet(f.sections.FlagSets[name])
	}
	if f.dashArgs {
		args = dashArgsLast(fs, args)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		f.Help(out)
		return nil, err
	case err != nil:
		return nil, Usage(err)
	}
	if f.logging != nil {
		if errs := logsapi.Validate(f.logging, nil, nil); len(errs) > 0 {
			// The errors name fields of the logging configuration; say the flags.
			for _, e := range errs {
				if flag, ok := loggingFlags[e.Field]; ok {
					e.Field = flag
				}
			}
			return nil, Usage(errs.ToAggregate())
		}
	}
	return fs.Args(), nil
}

// loggingFlags are the flags of the logging configuration's fields.
var loggingFlags = map[string]string{
	"format":         "--logging-format",
	"verbosity":      "-v",
	"vmodule":        "--vmodule",
	"flushFrequency": "--" + logsapi.LogFlushFreqFlagName,
}

// ParseFlagsOnly parses args as Parse does, for a command that takes no
// arguments besides its flags: a stray one is a UsageError.
func (f *Flags) ParseFlagsOnly(args []string, out io.Writer) error {
	rest, err := f.Parse(args, out)
	if err == nil && len(rest) > 0 {
		err = Usagef("unexpected argument %q; %s takes flags only", rest[0], f.name)
	}
	return err
}

// SingleDashArgs makes Parse take an argument that starts with a single "-"
// but does not start with a shorthand flag of the command ("-1", "-0.5(T4)")
// as an argument, not as a flag, for a command whose argument may start with
// "-" (`webhook explain -1`). Long flags stay flags: "--rol" is still an
// unknown flag.
func (f *Flags) SingleDashArgs() { f.dashArgs = true }

// dashArgsLast returns args with the arguments that SingleDashArgs makes
// arguments moved after a "--", in their order, so pflag reads them as such.
func dashArgsLast(fs *pflag.FlagSet, args []string) []string {
	var flags, rest []string
	// value takes the next argument as the value of flag fl, when it has none yet.
	value := func(fl *pflag.Flag, i int) int {
		if fl != nil && fl.NoOptDefVal == "" && i+1 < len(args) {
			flags = append(flags, args[i+1])
			return i + 1
		}
		return i
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			flags = append(flags, a)
			if name, _, inline := strings.Cut(a[2:], "="); !inline {
				i = value(fs.Lookup(name), i)
			}
		case len(a) > 1 && a[0] == '-':
			fl := fs.ShorthandLookup(a[1:2])
			if fl == nil && a != "-h" {
				rest = append(rest, a)
				continue
			}
			flags = append(flags, a)
			if len(a) == 2 {
				i = value(fl, i)
			}
		default:
			rest = append(rest, a)
		}
	}
	return append(append(flags, "--"), rest...)
}

// Changed tells whether the flag name was set on the command line.
func (f *Flags) Changed(name string) bool {
	for _, fs := range f.sections.FlagSets {
		if fl := fs.Lookup(name); fl != nil {
			return fl.Changed
		}
	}
	return false
}

// Help writes the usage and then every section of flags to w.
func (f *Flags) Help(w io.Writer) {
	fmt.Fprint(w, strings.TrimRight(f.usage, "\n")+"\n")
	cliflag.PrintSections(w, f.sections, 0)
}
