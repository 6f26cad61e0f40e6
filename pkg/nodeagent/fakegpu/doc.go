// Package fakegpu stands in for NVML on machines without NVIDIA cards: the
// demo, end-to-end tests and operators trying the agent out. A spec such as
// "8xV100@30%" or a YAML/JSON file describes the cards; New turns it into
// an nvml.Interface built on go-nvml's mock types, reporting product names
// the catalog maps back to the requested types and the described readings.
//
// It may import pkg/catalog (to name products and memory sizes) but no
// Kubernetes package and no other part of the node agent.
package fakegpu
