package api

// Pod annotations a user writes.
const (
	// AnnotationGPU is the request shorthand, e.g. "2(V100)".
	AnnotationGPU = "gpuplane.io/gpu"
	// AnnotationContainer names the container that gets the cards; the
	// first container when absent.
	AnnotationContainer = "gpuplane.io/container"
	// AnnotationRole is train, service or notebook: the pod must land on
	// nodes labelled "<role>=true".
	AnnotationRole = "gpuplane.io/role"
)

// Pod annotations gpuplane writes.
const (
	// AnnotationApplied is the canonical form of what the webhook applied;
	// a pod carrying the same value again is left unchanged.
	AnnotationApplied = "gpuplane.io/applied"
	// AnnotationAssigned is the extender's card choice for a vGPU pod
	// (JSON, see Assignment).
	AnnotationAssigned = "gpuplane.io/assigned"
	// AnnotationRequeued is when the extender last asked kube-scheduler to
	// try a pending pod again (RFC 3339): after a change that may have made
	// room for a pod it had just found no node for (docs/extender.md).
	AnnotationRequeued = "gpuplane.io/requeued"
)

// ResourcePlacement is the extended resource the shipped webhook gives a pod
// asking "0" and a pod in the DRA form (its --placement-resource): pods that
// ask no GPU resource the extender manages. The shipped scheduler
// configuration's extender names among its managedResources, ignored by
// kube-scheduler: it brings those pods to the extender, whose policy places
// them. No node advertises it.
const ResourcePlacement = "gpuplane.io/placement"

// Annotations tencent gpu-manager reads on a vGPU pod; the extender writes
// them before binding so that gpu-manager uses the cards it chose.
const (
	// AnnotationPredicateGPUIdxPrefix is followed by the container index;
	// the value is the comma-separated card indexes of that container.
	AnnotationPredicateGPUIdxPrefix = "tencent.com/predicate-gpu-idx-"
	AnnotationPredicateNode         = "tencent.com/predicate-node"
	AnnotationGPUAssigned           = "tencent.com/gpu-assigned"
	AnnotationPredicateTime         = "tencent.com/predicate-time"
)

// Node labels and annotations the node agent writes for its own node.
// The label keys "gpu", "gpu-type" and "vgpu" come from the catalog, since
// operators may rename them; these are fixed.
const (
	LabelGPUCount  = "gpuplane.io/gpu.count"
	LabelGPUMemory = "gpuplane.io/gpu.memory"
	// AnnotationDevices is the JSON list of the node's cards (see Devices).
	AnnotationDevices = "gpuplane.io/devices"
)

// Node condition types the node agent maintains.
const (
	ConditionDriverReady       = "GPUDriverReady"
	ConditionRuntimeReady      = "GPURuntimeReady"
	ConditionDevicePluginReady = "GPUDevicePluginReady"
	ConditionExporterReady     = "GPUExporterReady"
)
