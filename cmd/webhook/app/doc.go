// Package app is the webhook program: its flags and their defaults, the explain
// command, and the wiring of the server (catalog, certificates, metrics, probes).
// The admission logic itself is in pkg/webhook; nothing here decides about a pod.
//
// Main takes the function that runs the server, so tests can drive the command line
// and capture the configuration it produces.
package app
