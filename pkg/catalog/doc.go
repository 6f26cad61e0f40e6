// Package catalog holds what gpuplane knows about GPUs: vendors and their
// extended resources, GPU types with their memory, aliases and product-name
// patterns and MIG profiles, the vGPU resources and units, the node label
// keys, the roles, the taints to tolerate, and the pools of nodes with the
// backend that shares their cards (gpu-manager, HAMi, MIG, time-slicing). It loads a catalog from YAML strictly (every
// problem reported with its line: the YAML decoder refuses unknown,
// repeated and mistyped fields, and a pass over the nodes gives the lines)
// and ships a built-in default (default.yaml, loaded through the same
// loader) of the cards sold from 2017 to 2026.
//
// Its main job is Resolve: turning a request parsed by pkg/gpuspec into
// what a pod needs: resources, node affinity, tolerations, environment.
// Decisions, all documented where they are made:
//   - A whole virtual card ("1(VGPU)") is the whole card: it asks cores
//     only, and the scheduler extender books all of the memory of the card
//     it picks (Resolved.MemoryMiB).
//   - A share's memory is proportional to the card unless given, and with
//     several types named it is sized to the smallest of them, with none
//     named to the smallest type of the default vendor: the pod then fits
//     whatever card it lands on.
//   - Each vendor has its own node label and tolerations (Vendor.Label,
//     Vendor.Tolerations), so that one vendor's pods never require or
//     tolerate another vendor's nodes.
//   - An explicit memory amount must be a whole number of the vGPU memory
//     unit and fit every named type; with no type named it must fit the
//     vendor's largest card, and the extender places it on a card that big.
//   - A count larger than any node has is not refused here (the catalog
//     does not know the nodes): the grammar caps counts at 64 and the
//     scheduler extender refuses what no node can hold.
//   - vGPU (shares and VGPU cards) is offered for the default vendor only.
//   - A share, virtual cards or a MIG instance takes the form of the first
//     pool whose types include the named ones and whose backend can keep
//     it (serve.go): a time-slice pool refuses a memory amount, a MIG pool
//     rounds a share up to the smallest profile holding it. A catalog
//     without pools has one, default, through gpu-manager: requests resolve
//     as before pools existed.
//
// It uses plain Go types, not Kubernetes API types, and must not import a
// Kubernetes client nor any gpuplane package but pkg/gpuspec. A Catalog is
// read-only once built and safe for concurrent use.
//
// It is about 3,500 lines, above the 1,500 we aim for, because a Catalog is
// made in one way and read through one unexported index. New and Load both
// fill the gaps from the built-in catalog, validate and then build the index
// (catalog.go, validate.go, load.go), and the built-in catalog is itself
// read by the YAML loader (default.go), so the loader and New cannot sit in
// different packages without a cycle; pools and MIG profiles are checked by
// the same unexported validator (pool.go, pool_dra.go, mig.go). Resolve and
// the roles (resolve.go, serve.go, role.go) are methods of Catalog that look
// types and vendors up by their position in that index (c.idx), as the DRA
// device classes do (dra.go, pool_dra.go); only New, Load and Default set
// it, after validation, and nothing changes it after. If it grows, the seam
// is Resolve: those three files (about 980 lines) are used by nothing else
// in the package but PoolForRequest (pool_dra.go), which takes a Resolved;
// moving them out would turn c.Resolve into a function of another package
// for every caller and export the index's lookups.
package catalog
