//go:build tools

// Package tools pins the Prometheus server that the end-to-end tests run to evaluate the
// prometheus-adapter rule against scraped metrics. It is never compiled into gpuplane; the
// build tag only makes the module graph hold the command so that `go build` can build it.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
