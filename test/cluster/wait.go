package cluster

import (
	"context"
	"fmt"
	"time"
)

// readyPollInterval is how often a starting program is asked whether it is ready.
const readyPollInterval = 100 * time.Millisecond

// readyFunc asks a program once whether it is ready; when not, it says why.
type readyFunc func(ctx context.Context) (ready bool, why string)

// waitReady polls ready until it reports true, the program exits, timeout passes or ctx
// ends, whichever comes first. The error names the program, the last reason it gave and
// the tail of its log.
func waitReady(ctx context.Context, p *Process, timeout time.Duration, ready readyFunc) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	why := "not asked yet"
	for {
		ok, reason := ready(ctx)
		if ok {
			return nil
		}
		why = reason
		select {
		case <-p.Exited():
			return fmt.Errorf("%w before it was ready (last check: %s); end of %s:\n%s",
				p.ExitError(), why, p.LogPath(), p.LogTail(logTailBytes))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last check: %s): %w; end of %s:\n%s",
				p.name, timeout, why, ctx.Err(), p.LogPath(), p.LogTail(logTailBytes))
		case <-tick.C:
		}
	}
}

// logTailBytes is how much of a log an error or a failed test shows.
const logTailBytes = 8 << 10
