// Package runtime makes a node's container runtime start containers with the
// NVIDIA runtime: it edits docker's daemon.json and containerd's config.toml
// (versions 2 and 3) so that an "nvidia" runtime exists and is the default,
// keeping everything else the operator wrote, and restarts the runtime only
// when asked to and only after a change.
//
// Planning a change (PlanDocker, PlanContainerd) is pure: bytes in, bytes out.
// Files are touched only by Configurator, which writes atomically, keeps a
// backup, never rewrites a file it cannot parse and never writes a file that
// is already right.
//
// It must not import Kubernetes packages nor other gpuplane packages: the
// node agent maps its Outcome onto node conditions.
package runtime
