package program

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/pflag"
)

func TestExit(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{name: "success", err: nil, code: ExitOK},
		{name: "help", err: pflag.ErrHelp, code: ExitOK},
		{name: "failure", err: errors.New("port taken"), code: ExitFailure, stderr: "prog: port taken\n"},
		{name: "usage", err: Usagef("--port %d: want 1 to 65535", 0), code: ExitUsage, stderr: "prog: --port 0: want 1 to 65535 (see prog --help)\n"},
		{name: "wrapped usage", err: fmt.Errorf("flags: %w", Usage(errors.New("bad"))), code: ExitUsage, stderr: "prog: flags: bad (see prog --help)\n"},
		{name: "usage of nil", err: Usage(nil), code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := Exit("prog", &stderr, tt.err); code != tt.code || stderr.String() != tt.stderr {
				t.Errorf("Exit = %d, %q; want %d, %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}
