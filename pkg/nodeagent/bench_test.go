package nodeagent

import (
	"context"
	"testing"
)

// BenchmarkCheckPass is one pass of the checklist on an 8-card node whose
// runtime file is already right: what the agent does every resync.
func BenchmarkCheckPass(b *testing.B) {
	opts, _ := runtimeFiles(b, seedDaemonJSON)
	opts.FakeDevices, opts.ApplyRuntime, opts.ServeMetrics = "8xV100@30%", true, true
	deps := Deps{}.withDefaults(opts)
	p, err := build(opts, deps, "")
	if err != nil {
		b.Fatal(err)
	}
	node := makeNode("bench").withAllocatable("nvidia.com/gpu", "8").node()
	ctx := context.Background()
	p.checklist.Run(ctx, node) // writes the runtime file once
	for b.Loop() {
		p.checklist.Run(ctx, node)
	}
}
