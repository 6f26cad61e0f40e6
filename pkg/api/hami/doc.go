// Package hami holds the wire formats of HAMi (github.com/Project-HAMi/HAMi)
// that gpuplane's extender reads and writes to stand in for HAMi's own
// scheduler beside HAMi's device plugin and HAMi-core: the node registration
// annotation HAMi's device plugin publishes, the pod annotations HAMi's
// scheduler writes at filter and bind and its device plugin reads at
// Allocate, and the node lock that serialises allocations on a node.
//
// The formats were learned from HAMi's public source and are written here
// anew; they match HAMi releases v2.6.x to v2.10.x (checked against tags
// v2.6.1, v2.7.1, v2.8.0 and v2.10.0):
//
//   - hami.io/node-nvidia-register: v2.8.0 and later publish a JSON list of
//     objects (DecodeRegistration reads both); up to v2.7.1 a list of
//     entries each ended by ':', an entry being 9 comma-separated fields
//     "UUID,split,memMiB,cores,type,numa,health,index,mode" (releases before
//     v2.5 wrote the first 7 only).
//   - hami.io/vgpu-devices-to-allocate and hami.io/vgpu-devices-allocated:
//     per container of the pod, in spec order, its devices each written
//     "UUID,NVIDIA,memMiB,cores" and ended by ':', each container ended by
//     ';' (a container without devices is an empty entry, so the positions
//     stay the container indexes).
//   - hami.io/vgpu-node and hami.io/vgpu-time, hami.io/bind-phase and
//     hami.io/bind-time (times in Unix seconds).
//   - hami.io/mutex.lock on the node: "RFC3339 time,namespace,name".
//
// It is a leaf like pkg/api: the standard library only. Every decoder is
// strict about what it reads and never panics (fuzz_test.go).
package hami
