package program

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Exit codes of every gpuplane program.
const (
	// ExitOK: the program did what it was asked (and --help).
	ExitOK = 0
	// ExitFailure: it failed while running (a server that stopped, a file it
	// could not read). `nodeagent check` also exits 1 for "not ready".
	ExitFailure = 1
	// ExitUsage: the command line was wrong (an unknown flag, a bad value, a
	// missing or stray argument), so nothing ran. `webhook explain` also
	// exits 2 when the webhook refuses the request it was given.
	ExitUsage = 2
)

// UsageError is an error of the command line: Exit turns it into ExitUsage.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with the formatted message (%w wraps).
func Usagef(format string, args ...any) error {
	return UsageError{Err: fmt.Errorf(format, args...)}
}

// Usage marks err, when not nil, as an error of the command line.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return UsageError{Err: err}
}

// Exit returns the exit code for the error a command ended with, and writes
// the error to stderr as "name: message": nil and pflag.ErrHelp are ExitOK,
// a UsageError is ExitUsage (its message pointing to --help), anything else
// ExitFailure.
func Exit(name string, stderr io.Writer, err error) int {
	var usage UsageError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return ExitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", name, err, name)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitFailure
	}
}
