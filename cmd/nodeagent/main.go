// Command nodeagent is gpuplane's node agent (a DaemonSet on GPU nodes):
// it finds the cards with NVML, configures the container runtime, checks
// the device plugin and the metrics exporter, and labels, annotates and
// reports conditions on its own node. `nodeagent check` runs the same
// checklist once, without the API server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/gpuplane/gpuplane/cmd/nodeagent/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// nvml.New only prepares the library; it is loaded on the first pass, so
	// a node without a driver gets a condition, not a crash.
	lib := nvml.New()
	code := app.Main(ctx, os.Args[1:], app.Streams{Out: os.Stdout, Err: os.Stderr}, app.Agent(lib), app.Check(lib))
	stop()
	os.Exit(code)
}
