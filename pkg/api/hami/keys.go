package hami

// Node annotations.
const (
	// AnnotationRegister is the node's cards as HAMi's device plugin
	// registers them (see DecodeRegistration).
	AnnotationRegister = "hami.io/node-nvidia-register"
	// AnnotationHandshake is HAMi's scheduler/device-plugin handshake of
	// v2.7 and earlier ("Requesting_<time>", "Reported <time>", "Deleted_…").
	// From v2.8.0 HAMi's scheduler judges NVIDIA nodes by their allocatable
	// count instead; gpuplane neither reads nor writes it.
	AnnotationHandshake = "hami.io/node-handshake"
	// AnnotationNodeLock is the lock a bind takes on the node until HAMi's
	// device plugin has allocated the pod (see NodeLock).
	AnnotationNodeLock = "hami.io/mutex.lock"
)

// Pod annotations.
const (
	// AnnotationToAllocate is the devices HAMi's device plugin is still to
	// allocate; it empties each container's entry as it allocates it.
	AnnotationToAllocate = "hami.io/vgpu-devices-to-allocate"
	// AnnotationAllocated is the devices the pod was given; it stays as
	// written, and is what a scheduler rebuilds its picture from.
	AnnotationAllocated = "hami.io/vgpu-devices-allocated"
	// AnnotationNode is the node the devices are on.
	AnnotationNode = "hami.io/vgpu-node"
	// AnnotationTime is when the devices were chosen, Unix seconds.
	AnnotationTime = "hami.io/vgpu-time"
	// AnnotationBindPhase is "allocating" from bind until the device plugin
	// writes "success" or "failed".
	AnnotationBindPhase = "hami.io/bind-phase"
	// AnnotationBindTime is when the bind started, Unix seconds.
	AnnotationBindTime = "hami.io/bind-time"
)

// Values of AnnotationBindPhase.
const (
	BindAllocating = "allocating"
	BindSuccess    = "success"
	BindFailed     = "failed"
)

// DeviceTypeNVIDIA is the device type HAMi writes in the pod annotations for
// NVIDIA cards; its device plugin looks for it to tell whether devices are
// left to allocate.
const DeviceTypeNVIDIA = "NVIDIA"

// Resources HAMi's device plugin serves (their default names).
const (
	ResourceGPU           = "nvidia.com/gpu"
	ResourceMemory        = "nvidia.com/gpumem"
	ResourceMemoryPercent = "nvidia.com/gpumem-percentage"
	ResourceCores         = "nvidia.com/gpucores"
)

// Modes a registered card may be in.
const (
	ModeHAMiCore = "hami-core"
	ModeMIG      = "mig"
	ModeMPS      = "mps"
)
