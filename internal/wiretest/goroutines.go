package wiretest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
	"k8s.io/apimachinery/pkg/util/wait"
)

// settleLimit is how long closed servers get to end their goroutines: on a
// busy machine a connection's goroutine may take seconds to see its close,
// longer than goleak's own retries (well under a second) wait.
const settleLimit = 15 * time.Second

// NoLeaks fails t, with the stacks goleak reports, when a goroutine that
// opts do not ignore is still running settleLimit from now. A wire test
// takes goleak.IgnoreCurrent() before it starts its server and passes it
// here once the server is stopped.
func NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	noLeaks(t, settleLimit, opts...)
}

func noLeaks(t testing.TB, limit time.Duration, opts ...goleak.Option) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, limit, true,
		func(context.Context) (bool, error) {
			last = goleak.Find(opts...)
			return last == nil, nil
		})
	if err != nil {
		t.Fatalf("goroutines left %s after the servers were stopped: %v", limit, last)
	}
}
