// Package app is the extender program: its flags and their defaults
// (Options), the simulate subcommand, and the wiring of the server (Run):
// the API client, the catalog, the informers feeding the state, the load
// source, the metrics registry and the HTTP servers. The scheduling itself
// is in pkg/extender; nothing here decides about a pod.
//
// Main takes the function that runs the server, so tests drive the command
// line and capture the options it produces.
//
// It may import pkg/extender, pkg/sim, pkg/load, pkg/catalog and client
// libraries; nothing but main and tests imports it.
package app
