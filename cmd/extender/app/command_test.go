package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/internal/program"
)

func TestCommand(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		serveErr error
		code     int
		out, err string // contained in stdout and stderr
		checkOp  func(Options) bool
	}{
		{name: "defaults", code: 0, checkOp: func(o Options) bool {
			return o.Listen == ":8888" && o.Policy == "auto" && o.Load.URL == "" && o.UIAddress == ""
		}},
		{name: "flags reach the options", args: []string{"--listen", "127.0.0.1:1234", "--policy", "spread", "--prometheus-url", "http://p:9090", "-v", "3", "--ui-address", ":8082"}, code: 0,
			checkOp: func(o Options) bool {
				return o.Listen == "127.0.0.1:1234" && o.Policy == "spread" && o.Load.URL == "http://p:9090" && o.Logging.Verbosity == 3 &&
					o.UIAddress == ":8082"
			}},
		{name: "help", args: []string{"--help"}, code: 0, out: "--prometheus-url"},
		{name: "help leads with the program's own flags", args: []string{"--help"}, code: 0, out: "bad flags or arguments.\n\nExtender flags:\n"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, err: "unknown flag: --nope"},
		{name: "bad policy", args: []string{"--policy", "x"}, code: 2, err: `--policy "x"`},
		{name: "stray argument", args: []string{"serve-it"}, code: 2, err: `unexpected argument "serve-it"`},
		{name: "simulate without a trace", args: []string{"simulate"}, code: 2, err: "simulate"},
		{name: "run fails", serveErr: errors.New("no cluster"), code: 1, err: "extender: no cluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var got *Options
			code := NewCommand(func(_ context.Context, o Options) error {
				got = &o
				return tc.serveErr
			})(context.Background(), tc.args, program.Streams{Out: &stdout, Err: &stderr})
			if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
				t.Fatalf("code %d, stdout %q, stderr %q; want %d, stdout with %q, stderr with %q", code, stdout.String(), stderr.String(), tc.code, tc.out, tc.err)
			}
			if tc.checkOp != nil && (got == nil || !tc.checkOp(*got)) {
				t.Fatalf("options %+v", got)
			}
		})
	}
}
