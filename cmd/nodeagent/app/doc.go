// Package app is the node agent's command line: flags, their defaults and
// help, and the wiring of nodeagent.Run and nodeagent.RunCheck to the
// Kubernetes client and NVML. Main takes the functions it runs, so tests
// drive the flags and capture the resulting configuration without starting
// anything.
//
// It may import pkg/nodeagent and client libraries; nothing imports it.
package app
