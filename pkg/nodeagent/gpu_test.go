//go:build gpu

// These tests need an NVIDIA driver: `make gpu-check` builds and runs them
// (hack/gpu-check.sh), and says so and skips them where there is none.
package nodeagent

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/nodeagent/discovery"
)

// TestGPUDiscovery reads the machine's cards through the real NVML and
// types them with the built-in catalog.
func TestGPUDiscovery(t *testing.T) {
	d := discovery.NewDiscoverer(nvml.New())
	defer func() {
		if err := d.Close(); err != nil {
			t.Errorf("closing NVML: %v", err)
		}
	}()
	inv, err := d.Discover()
	if err != nil {
		t.Fatalf("NVML discovery: %v", err)
	}
	t.Logf("driver %s, CUDA %s, %d cards", inv.DriverVersion, inv.CUDADriverVersion, len(inv.Cards))
	if len(inv.Cards) == 0 {
		t.Fatal("NVML loads but reports no cards")
	}
	cat := catalog.Default()
	g := Classify(inv, cat)
	for _, dev := range g.Devices {
		t.Logf("card %d: %q, %d MiB, %s, type %s", dev.Index, dev.Product, dev.MemoryMiB, dev.UUID, dev.Type)
		if !strings.HasPrefix(dev.UUID, "GPU-") && !strings.HasPrefix(dev.UUID, "MIG-") || dev.MemoryMiB <= 0 || dev.Product == "" {
			t.Errorf("card %d reads as %+v", dev.Index, dev)
		}
	}
	step := devicesStep(g, cat)
	t.Logf("devices step: %s: %s", step.Reason, step.Message)
	if step.Verdict != Ready {
		t.Errorf("devices step %s: %s", step.Verdict, step.Message)
	}
}

// TestGPUCheck runs `nodeagent check` (without --apply: it writes nothing)
// against the real driver and prints its checklist. The driver and devices
// steps must be ready; the others depend on how the machine is set up and
// are only printed.
func TestGPUCheck(t *testing.T) {
	var out bytes.Buffer
	_, err := RunCheck(context.Background(), Options{}, Deps{NVML: nvml.New(), Out: &out})
	t.Logf("nodeagent check:\n%s", out.String())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, step := range []string{StepDriver, StepDevices} {
		if !strings.Contains(out.String(), "[ ok ] "+step) {
			t.Errorf("step %s not ready", step)
		}
	}
}
