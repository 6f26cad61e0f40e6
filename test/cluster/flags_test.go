package cluster

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr error
		stderr  []string
	}{
		{name: "none", want: "default"},
		{name: "set", args: []string{"--colour=blue"}, want: "blue"},
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp, stderr: []string{"Usage: prog [flags]\n\nFlags:\n", "-colour"}},
		{name: "unknown flag", args: []string{"--size=3"}, wantErr: errAny, stderr: []string{"not defined: -size", "Usage: prog"}},
		{name: "stray argument", args: []string{"--colour=red", "start"}, wantErr: errAny,
			stderr: []string{`prog: unexpected arguments ["start"]; it takes flags only`, "Usage: prog", "-colour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			colour, err := ParseFlags("prog", "Usage: prog [flags]\n", tt.args, &stderr, func(fs *flag.FlagSet, colour *string) {
				fs.StringVar(colour, "colour", "default", "a colour")
			})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("ParseFlags = %v, want no error", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("ParseFlags = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && colour != tt.want {
				t.Errorf("colour = %q, want %q", colour, tt.want)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
			if tt.stderr == nil && stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}

// errAny stands for any error in TestParseFlags.
var errAny = errors.New("any error")
