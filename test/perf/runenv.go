package perf

import (
	"fmt"
	"os"
)

// RunEnv is what each scale run gets from its command: where its files go,
// the program its child processes run, and where its progress goes.
type RunEnv struct {
	// WorkDir receives the profiles; LogDir the logs of the programs the
	// run starts (and the webhook's certificate), kept when a run fails.
	WorkDir, LogDir string
	// Executable is this program, started again as the run's extender or
	// in-process webhook (`perf serve-...`). Default: os.Executable().
	Executable string
	// Logf reports progress. Default: nothing.
	Logf func(format string, args ...any)
}

// setDefaults checks the directories, which the command must give, and
// fills in the rest; run names the run in the error.
func (e *RunEnv) setDefaults(run string) error {
	if e.WorkDir == "" || e.LogDir == "" {
		return fmt.Errorf("the %s needs a work and a log directory", run)
	}
	if e.Logf == nil {
		e.Logf = func(string, ...any) {}
	}
	if e.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program to start the %s's processes: %w", run, err)
		}
		e.Executable = exe
	}
	return nil
}
