package runtime

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs a command; the agent restarts container runtimes through it,
// so tests can see the command without running it.
type Runner interface {
	Run(ctx context.Context, argv []string) (output []byte, err error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, argv []string) ([]byte, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, argv []string) ([]byte, error) { return f(ctx, argv) }

var (
	_ Runner = RunnerFunc(nil)
	_ Runner = ExecRunner{}
)

// ExecRunner runs commands as child processes.
type ExecRunner struct{}

// Run executes argv[0] with the rest as arguments and returns its combined output.
func (ExecRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("running %q: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}
