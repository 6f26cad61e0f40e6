// Package discovery reads a node's NVIDIA cards through NVML: the driver and
// CUDA driver versions, each card's index, UUID, product name and memory
// (Discover), and the live readings the DCGM-named metrics are made of
// (Sample).
//
// The NVML library is injected as nvml.Interface, so tests and
// --fake-devices use go-nvml's mock types; only main calls nvml.New. It
// knows nothing of the catalog or of Kubernetes: mapping product names to
// GPU types is the node agent's job. It must not import other gpuplane
// packages.
package discovery
