// Package app is the node agent's command line: flags, their defaults and
// help, and the wiring of nodeagent.Run and nodeagent.RunCheck to the
// Kubernetes client and NVML. NewCommand takes the functions it runs, so
// tests drive the flags and capture the resulting configuration without
// starting anything; the command line is built the way internal/program
// builds every gpuplane program.
//
// It may import pkg/nodeagent, internal/program and client libraries;
// nothing imports it.
package app
