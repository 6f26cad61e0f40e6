package program

import (
	"context"
	"fmt"

	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"

	// The JSON log format (--logging-format=json), as kube-scheduler has it.
	_ "k8s.io/component-base/logs/json/register"
)

// NewLogging returns the logging configuration before flags:
// component-base's defaults (text on standard error, verbosity 0).
func NewLogging() logsapi.LoggingConfiguration {
	return *logsapi.NewLoggingConfiguration()
}

// Logged is a program configuration that holds the logging flags.
type Logged interface {
	LoggingConfiguration() *logsapi.LoggingConfiguration
}

// WithLogging returns run preceded by StartLogging with the configuration's
// logging flags. A program's main wraps its real run function with it; tests
// that capture the configuration, or start the server in-process, call run
// without it and leave the process's logging alone.
func WithLogging[C Logged](run func(context.Context, C) error) func(context.Context, C) error {
	return func(ctx context.Context, cfg C) error {
		ctx, err := StartLogging(ctx, cfg.LoggingConfiguration())
		if err != nil {
			return err
		}
		return run(ctx, cfg)
	}
}

// StartLogging applies c to klog, the process's logger, and returns ctx
// carrying that logger for klog.FromContext. Logging is set once in a
// process: a second call returns an error.
func StartLogging(ctx context.Context, c *logsapi.LoggingConfiguration) (context.Context, error) {
	if err := logsapi.ValidateAndApply(c, nil); err != nil {
		return ctx, fmt.Errorf("applying the logging flags: %w", err)
	}
	return klog.NewContext(ctx, klog.Background()), nil
}
