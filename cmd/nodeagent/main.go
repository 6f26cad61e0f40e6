// Command nodeagent is gpuplane's node agent (a DaemonSet on GPU nodes):
// it finds the cards with NVML, configures the container runtime, checks
// the device plugin and the metrics exporter, and labels, annotates and
// reports conditions on its own node. `nodeagent check` runs the same
// checklist once, without the API server.
package main

import (
	"os"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/gpuplane/gpuplane/cmd/nodeagent/app"
	"github.com/gpuplane/gpuplane/internal/program"
)

func main() {
	// nvml.New only prepares the library; it is loaded on the first pass, so
	// a node without a driver gets a condition, not a crash.
	lib := nvml.New()
	program.Main(app.NewCommand(
		program.WithLogging(app.Agent(lib, os.Stdout)),
		program.WithLogging(app.Check(lib, os.Stdout))))
}
