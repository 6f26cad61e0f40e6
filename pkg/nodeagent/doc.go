// Package nodeagent runs the GPU node checklist (SPEC §4, §7): it finds the
// cards with NVML and maps them to catalog types, configures the container
// runtime for the NVIDIA runtime, checks that the device plugin advertises
// the cards and that DCGM metrics are served, and reports all of it on its
// own Node: labels, the gpuplane.io/devices annotation and four conditions.
//
// One pass of the checklist (Checklist.Run) is shared by the long-running
// agent (Agent, Run) and the one-shot `nodeagent check` (RunCheck). Deciding
// what the Node should look like (desiredMetadata, desiredConditions) is
// pure; patching it is done in one place (patchNode), by merge patches that
// name only the keys the agent owns.
//
// Sub-packages hold the parts that touch the machine: runtime (daemon.json,
// config.toml), discovery (NVML), fakegpu (described cards), metrics
// (Prometheus). This package may import pkg/api, pkg/catalog and those; it
// must not import the webhook, the extender, the simulator or test code.
package nodeagent
