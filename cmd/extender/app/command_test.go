package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		runErr  error
		code    int
		stderr  string
		checkOp func(Options) bool
	}{
		{name: "defaults", code: 0, checkOp: func(o Options) bool { return o.Listen == ":8888" && o.Policy == "auto" }},
		{name: "flags reach the options", args: []string{"--listen", "127.0.0.1:1234", "--policy", "spread", "--prometheus-url", "http://p:9090", "-v", "3"}, code: 0,
			checkOp: func(o Options) bool {
				return o.Listen == "127.0.0.1:1234" && o.Policy == "spread" && o.Load.URL == "http://p:9090"
			}},
		{name: "help", args: []string{"--help"}, code: 0, stderr: "--prometheus-url"},
		{name: "help leads with the program's own flags", args: []string{"--help"}, code: 0, stderr: "Server flags:\n      --listen"},
		{name: "simulate without a trace", args: []string{"simulate"}, code: 2, stderr: "simulate:"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, stderr: "unknown flag: --nope"},
		{name: "bad policy", args: []string{"--policy", "x"}, code: 2, stderr: `--policy "x"`},
		{name: "stray argument", args: []string{"serve-it"}, code: 2, stderr: `unexpected argument "serve-it"`},
		{name: "run fails", runErr: errors.New("no cluster"), code: 1, stderr: "extender: no cluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			var got *Options
			code := Main(context.Background(), tc.args, Streams{Out: &stderr, Err: &stderr}, func(_ context.Context, o Options, _ Deps) error {
				got = &o
				return tc.runErr
			})
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("code %d, stderr %q; want %d containing %q", code, stderr.String(), tc.code, tc.stderr)
			}
			if tc.checkOp != nil && (got == nil || !tc.checkOp(*got)) {
				t.Fatalf("options %+v", got)
			}
		})
	}
}
