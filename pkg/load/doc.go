// Package load keeps a recent picture of how busy each GPU really is, read from
// Prometheus (the DCGM exporter's DCGM_FI_DEV_GPU_UTIL and DCGM_FI_DEV_FB_USED
// series), so that scoring can prefer idle cards.
//
// A background loop (Source.Run) refreshes an immutable Snapshot every interval;
// readers take the latest snapshot without ever waiting on Prometheus. Data older
// than a few intervals counts as absent: scoring then goes on without load, which
// the package reports through metrics and a log line, never as an error.
//
// It must not import any other gpuplane package nor any Kubernetes client: it
// knows nodes only by the name Prometheus labels them with.
package load
