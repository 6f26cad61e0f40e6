package load

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("invalid load configuration")

// Config says where GPU load comes from and how the series are labelled.
// Zero fields take the defaults documented on them (see Default).
type Config struct {
	// URL of the Prometheus server (its HTTP API root). Required.
	URL string
	// Interval between refreshes. Default 30s.
	Interval time.Duration
	// StaleAfter is how many intervals a snapshot stays usable when refreshes
	// fail. Default 3.
	StaleAfter int
	// Window averages each series over this range so one busy second does not
	// steer a placement; 0 reads the instant value. No default: programs offer
	// DefaultWindow as their flag default.
	Window time.Duration
	// QueryTimeout bounds one refresh. Default: Interval, at most 10s.
	QueryTimeout time.Duration
	// UtilMetric is the utilisation series in percent. Default DCGM_FI_DEV_GPU_UTIL.
	UtilMetric string
	// MemoryMetric is the framebuffer used in MiB. Default DCGM_FI_DEV_FB_USED.
	MemoryMetric string
	// NodeLabel carries the node name. Default Hostname.
	NodeLabel string
	// IndexLabel carries the card index on the node. Default gpu.
	IndexLabel string
	// UUIDLabel carries the card UUID. Default UUID.
	UUIDLabel string
}

// Defaults of Config, applied by Default.
const (
	DefaultInterval     = 30 * time.Second
	DefaultStaleAfter   = 3
	DefaultWindow       = 2 * time.Minute
	DefaultUtilMetric   = "DCGM_FI_DEV_GPU_UTIL"
	DefaultMemoryMetric = "DCGM_FI_DEV_FB_USED"
	DefaultNodeLabel    = "Hostname"
	DefaultIndexLabel   = "gpu"
	DefaultUUIDLabel    = "UUID"
	maxQueryTimeout     = 10 * time.Second
)

// Default returns c with every zero field set to its default.
func (c Config) Default() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = min(c.Interval, maxQueryTimeout)
	}
	if c.UtilMetric == "" {
		c.UtilMetric = DefaultUtilMetric
	}
	if c.MemoryMetric == "" {
		c.MemoryMetric = DefaultMemoryMetric
	}
	if c.NodeLabel == "" {
		c.NodeLabel = DefaultNodeLabel
	}
	if c.IndexLabel == "" {
		c.IndexLabel = DefaultIndexLabel
	}
	if c.UUIDLabel == "" {
		c.UUIDLabel = DefaultUUIDLabel
	}
	return c
}

// promName is the classic Prometheus name syntax; names go into PromQL
// unquoted, so nothing else is accepted.
var promName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Validate checks a defaulted Config.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
	}
	if c.URL == "" {
		bad("no Prometheus URL")
	}
	if c.Interval < time.Second {
		bad("interval %s is below 1s", c.Interval)
	}
	if c.StaleAfter < 1 {
		bad("stale-after %d intervals, want 1 or more", c.StaleAfter)
	}
	if c.Window < 0 {
		bad("window %s is negative", c.Window)
	}
	if c.QueryTimeout <= 0 {
		bad("query timeout %s, want a positive duration", c.QueryTimeout)
	}
	for _, n := range []struct{ what, v string }{
		{"utilisation metric", c.UtilMetric}, {"memory metric", c.MemoryMetric},
		{"node label", c.NodeLabel}, {"index label", c.IndexLabel}, {"UUID label", c.UUIDLabel},
	} {
		if !promName.MatchString(n.v) {
			bad("%s %q is not a Prometheus name (letters, digits and _, not starting with a digit)", n.what, n.v)
		}
	}
	return errors.Join(errs...)
}
