// Package app is the webhook program: its flags and their defaults, the explain
// command, and the wiring of the server (catalog, certificates, metrics, probes).
// The admission logic itself is in pkg/webhook; nothing here decides about a pod.
//
// NewCommand takes the function that runs the server, so tests can drive the
// command line and capture the configuration it produces; the command line is
// built the way internal/program builds every gpuplane program.
package app
