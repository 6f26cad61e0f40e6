// Package metrics holds the node agent's Prometheus metrics: its own
// gpuplane_nodeagent_* series, and a collector serving DCGM-named card
// metrics read from NVML at scrape time, for nodes without dcgm-exporter,
// so that Prometheus rules and the extender's load scoring work either way.
//
// Collectors are registered on a registry the caller builds (main), never on
// the global one. It must not import Kubernetes packages nor other gpuplane
// packages than pkg/nodeagent/discovery.
package metrics
