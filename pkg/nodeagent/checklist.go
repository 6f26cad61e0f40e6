package nodeagent

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

// Checklist runs the steps of one pass. Build it with newChecklist; it is
// used by one goroutine at a time (the agent's worker, or check).
type Checklist struct {
	catalog    *catalog.Catalog
	discoverer *discovery.Discoverer
	runtime    *runtimeStep
	http       *http.Client
	// exporterURL is probed for a dcgm-exporter.
	exporterURL string
	// serveMetrics: the agent serves DCGM metrics when no exporter answers.
	serveMetrics bool
	vgpu         bool
	// devicePluginDir is the kubelet's device-plugin directory: check's
	// device plugin step, and a hint when the agent finds the resource missing.
	devicePluginDir string
	// dcgmServed is read by the DCGM collector on every scrape: true while
	// the agent is the one serving the node's DCGM metrics.
	dcgmServed atomic.Bool
}

// Report is the outcome of one pass.
type Report struct {
	// Steps in StepDriver .. StepExporter order.
	Steps []StepResult
	GPUs  NodeGPUs
	// Discovered is false when NVML could not be read.
	Discovered bool
	// Transient is true when something failed that may pass by itself
	// (NVML, a write, a restart): the agent retries with backoff rather than
	// waiting for the next resync.
	Transient bool
}

// Step returns the result of the named step.
func (r Report) Step(name string) (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return StepResult{}, false
}

// Ready reports whether every step that ran is ready (skipped ones do not
// count): check's exit status.
func (r Report) Ready() bool {
	for _, s := range r.Steps {
		if s.Verdict != Ready && s.Verdict != Skipped {
			return false
		}
	}
	return true
}

func (r Report) stepMap() map[string]StepResult {
	m := make(map[string]StepResult, len(r.Steps))
	for _, s := range r.Steps {
		m[s.Step] = s
	}
	return m
}

// Run performs one pass. node is the agent's Node as last seen, or nil
// without an API server (the device plugin step is then skipped).
func (c *Checklist) Run(ctx context.Context, node *corev1.Node) Report {
	var rep Report
	inv, err := c.discoverer.Discover()
	rep.Discovered = err == nil
	rep.Transient = err != nil
	rep.Steps = append(rep.Steps, driverStep(inv, err))
	if rep.Discovered {
		rep.GPUs = Classify(inv, c.catalog)
		rep.Steps = append(rep.Steps, devicesStep(rep.GPUs, c.catalog))
	} else {
		rep.Steps = append(rep.Steps, StepResult{Step: StepDevices, Verdict: Unknown, Reason: "CardsUnknown",
			Message: "not listed: NVML could not be read"})
	}

	rt, transient := c.runtime.run(ctx)
	rep.Transient = rep.Transient || transient
	rep.Steps = append(rep.Steps, rt)

	if node != nil {
		// vgpu=true set on the node by anyone (the operator, as deploy.md
		// says) makes it a vGPU node as much as --vgpu does.
		vgpu := c.vgpu || node.Labels[c.catalog.Labels.VGPU] == "true"
		rep.Steps = append(rep.Steps, devicePluginStep(node, rep.GPUs, rep.Discovered, vgpu, c.catalog, c.devicePluginDir))
	} else {
		rep.Steps = append(rep.Steps, devicePluginDirStep(c.devicePluginDir, c.vgpu, c.catalog))
	}

	dcgmUp, why := probeExporter(ctx, c.http, c.exporterURL)
	c.dcgmServed.Store(c.serveMetrics && !dcgmUp)
	rep.Steps = append(rep.Steps, exporterStep(dcgmUp, why, c.exporterURL, c.serveMetrics, rep.Discovered))
	return rep
}

// DCGMServed reports whether the agent serves the DCGM metrics itself
// (serving enabled and no dcgm-exporter answered in the last pass).
func (c *Checklist) DCGMServed() bool { return c.dcgmServed.Load() }

// notReadySummary names the steps that are not ready with their reasons,
// e.g. "driver: DriverNotLoaded, runtime: RestartFailed".
func (r Report) notReadySummary() string {
	var parts []string
	for _, s := range r.Steps {
		if s.Verdict == NotReady {
			parts = append(parts, s.Step+": "+s.Reason)
		}
	}
	return strings.Join(parts, ", ")
}
