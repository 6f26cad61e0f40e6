package program

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// testFlags is a command with a string flag, a shorthand string flag and a
// bool, and the logging flags.
type testFlags struct {
	name, file string
	force      bool
	flags      *Flags
}

func newTestFlags() *testFlags {
	f := &testFlags{flags: NewFlags("prog", "Usage:\n  prog [flags] ARG\n")}
	fs := f.flags.Section("prog")
	fs.StringVar(&f.name, "name", "", "A name.")
	fs.StringVarP(&f.file, "filename", "f", "", "A file.")
	fs.BoolVar(&f.force, "force", false, "Force.")
	logging := NewLogging()
	f.flags.AddLogging(&logging)
	return f
}

func TestFlagsParse(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		dashArgs  bool
		rest      []string
		wantName  string
		wantFile  string
		usageErr  string
		wantForce bool
	}{
		{name: "flags and arguments in any order", args: []string{"a", "--name", "n", "b", "-f", "x"}, rest: []string{"a", "b"}, wantName: "n", wantFile: "x"},
		{name: "unknown long flag", args: []string{"--nam", "n"}, usageErr: "unknown flag: --nam"},
		{name: "unknown shorthand", args: []string{"-1"}, usageErr: "unknown shorthand flag: '1' in -1"},
		{name: "missing value", args: []string{"--name"}, usageErr: "flag needs an argument: --name"},
		{name: "bad verbosity", args: []string{"-v", "x"}, usageErr: `"x" for "-v, --v"`},
		{name: "bad log format", args: []string{"--logging-format", "xml"}, usageErr: `--logging-format: Invalid value: "xml"`},
		{name: "alpha logging option", args: []string{"--log-text-split-stream"}, usageErr: "LoggingAlphaOptions"},
		{name: "dash argument", args: []string{"-1"}, dashArgs: true, rest: []string{"-1"}},
		{name: "dash argument among flags", args: []string{"--name", "n", "-0.5(T4)", "--force", "-f", "x"}, dashArgs: true,
			rest: []string{"-0.5(T4)"}, wantName: "n", wantFile: "x", wantForce: true},
		{name: "flag values that start with a dash", args: []string{"--name", "-1", "-f", "-", "-2"}, dashArgs: true,
			rest: []string{"-2"}, wantName: "-1", wantFile: "-"},
		{name: "inline values", args: []string{"--name=-1", "-f=y", "-3"}, dashArgs: true, rest: []string{"-3"}, wantName: "-1", wantFile: "y"},
		{name: "after --", args: []string{"--", "--name", "-1"}, dashArgs: true, rest: []string{"--name", "-1"}},
		{name: "arguments keep their order", args: []string{"a", "-1", "--force", "b"}, dashArgs: true, rest: []string{"a", "-1", "b"}, wantForce: true},
		{name: "long flags stay flags", args: []string{"--nam", "n"}, dashArgs: true, usageErr: "unknown flag: --nam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFlags()
			if tt.dashArgs {
				f.flags.SingleDashArgs()
			}
			var out bytes.Buffer
			rest, err := f.flags.Parse(tt.args, &out)
			if tt.usageErr != "" {
				var usage UsageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.usageErr) {
					t.Fatalf("error %v, want a usage error with %q", err, tt.usageErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) == 0 {
				rest = nil
			}
			if !reflect.DeepEqual(rest, tt.rest) || f.name != tt.wantName || f.file != tt.wantFile || f.force != tt.wantForce {
				t.Errorf("rest %q name %q file %q force %v", rest, f.name, f.file, f.force)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q", out.String())
			}
		})
	}
}

func TestFlagsHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"x", "--name", "n", "--help"}} {
		f := newTestFlags()
		f.flags.SingleDashArgs()
		var out bytes.Buffer
		_, err := f.flags.Parse(args, &out)
		if !errors.Is(err, pflag.ErrHelp) {
			t.Fatalf("%q: error %v, want pflag.ErrHelp", args, err)
		}
		help := out.String()
		usage, own, logging := strings.Index(help, "Usage:"), strings.Index(help, "Prog flags:"), strings.Index(help, "Logging flags:")
		if usage != 0 || own < usage || logging < own || !strings.Contains(help[own:logging], "-f, --filename") ||
			!strings.Contains(help[logging:], "--vmodule") || strings.Contains(help, "logtostderr") || strings.Contains(help, "[Alpha]") {
			t.Errorf("%q: help\n%s", args, help)
		}
	}
}

func TestFlagsParseFlagsOnly(t *testing.T) {
	f := newTestFlags()
	err := f.flags.ParseFlagsOnly([]string{"--name", "n", "now"}, &bytes.Buffer{})
	var usage UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), `unexpected argument "now"; prog takes flags only`) {
		t.Errorf("error %v", err)
	}
	if err := newTestFlags().flags.ParseFlagsOnly([]string{"--name", "n"}, &bytes.Buffer{}); err != nil {
		t.Errorf("error %v", err)
	}
}

func TestFlagsChanged(t *testing.T) {
	f := newTestFlags()
	if _, err := f.flags.Parse([]string{"--name", "", "-v", "2"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"name": true, "v": true, "filename": false, "force": false, "nothing": false} {
		if got := f.flags.Changed(name); got != want {
			t.Errorf("Changed(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzSingleDashArgs: whatever the arguments, Parse with SingleDashArgs does
// not panic, and what it returns as arguments were given as arguments.
func FuzzSingleDashArgs(f *testing.F) {
	for _, seed := range []string{"-1", "--name -1 -2", "-f - x", "-- -1 --name", "-h", "-\xc3\xa9", "--name=-1 -f=y -3", "-fx -1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		tf := newTestFlags()
		tf.flags.SingleDashArgs()
		rest, err := tf.flags.Parse(args, &bytes.Buffer{})
		if err != nil {
			return
		}
		given := map[string]bool{}
		for _, a := range args {
			given[a] = true
		}
		for _, r := range rest {
			if !given[r] {
				t.Fatalf("argument %q was not given in %q", r, args)
			}
		}
	})
}
