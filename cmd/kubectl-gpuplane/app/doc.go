// Package app is `kubectl gpuplane`: a cobra command line on kubectl's own
// flags (k8s.io/cli-runtime), thin adapters that read nodes, pods and events
// from the API server, and a pure core (views.go, why.go, format.go) that
// turns those objects into the views it prints.
package app
