package discovery

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Error classes of NVML failures, so the agent can give each its own
// condition reason and advice.
var (
	// ErrLibraryNotFound: libnvidia-ml.so could not be loaded; the driver
	// is not installed or not visible to the agent's container.
	ErrLibraryNotFound = errors.New("NVML library not found")
	// ErrDriverNotLoaded: the library is there but the kernel module is not.
	ErrDriverNotLoaded = errors.New("NVIDIA kernel driver not loaded")
	// ErrDriverMismatch: the library and the kernel module are of different
	// versions, typically after a driver upgrade without a reboot.
	ErrDriverMismatch = errors.New("NVML library and kernel driver versions differ")
	// ErrNoPermission: the agent may not open the device nodes.
	ErrNoPermission = errors.New("no permission to use the NVIDIA devices")
	// ErrNVML: any other NVML failure.
	ErrNVML = errors.New("NVML call failed")
)

// nvmlError wraps a failed NVML return in its class, naming the call.
func nvmlError(op string, ret nvml.Return) error {
	class := ErrNVML
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		class = ErrLibraryNotFound
	case nvml.ERROR_DRIVER_NOT_LOADED:
		class = ErrDriverNotLoaded
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		class = ErrDriverMismatch
	case nvml.ERROR_NO_PERMISSION:
		class = ErrNoPermission
	}
	return fmt.Errorf("%w: %s: %s", class, op, ret.Error())
}
