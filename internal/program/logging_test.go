package program

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
)

type loggedConfig struct{ logging logsapi.LoggingConfiguration }

func (c loggedConfig) LoggingConfiguration() *logsapi.LoggingConfiguration { return &c.logging }

// TestWithLogging: the run function gets a logger in its context that has
// the verbosity of the flags, and so does klog; logging is set once.
func TestWithLogging(t *testing.T) {
	t.Cleanup(func() {
		if err := logsapi.ResetForTest(nil); err != nil {
			t.Error(err)
		}
	})
	cfg := loggedConfig{logging: NewLogging()}
	cfg.logging.Verbosity = 3
	var ran bool
	run := WithLogging(func(ctx context.Context, cfg loggedConfig) error {
		ran = true
		logger, err := logrFrom(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !logger.V(3).Enabled() || logger.V(4).Enabled() || !klog.V(3).Enabled() {
			t.Errorf("verbosity of the context's logger: 3 %v, 4 %v; klog's 3 %v", logger.V(3).Enabled(), logger.V(4).Enabled(), klog.V(3).Enabled())
		}
		return nil
	})
	if err := run(context.Background(), cfg); err != nil || !ran {
		t.Fatalf("run: %v, ran %v", err, ran)
	}
	cfg.logging.Verbosity = 5
	ran = false
	if err := run(context.Background(), cfg); err == nil || ran || !strings.Contains(err.Error(), "logging flags") {
		t.Errorf("a second start of logging: %v, ran %v; want an error and no run", err, ran)
	}
}

// logrFrom is the logger that WithLogging put in ctx (klog.FromContext falls
// back to the global one, so it checks the context holds one).
func logrFrom(ctx context.Context) (klog.Logger, error) {
	return logr.FromContext(ctx)
}
