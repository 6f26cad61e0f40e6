//go:build tools

// Package kustomize pins the kustomize command that renders deploy/ in the tests and for
// operators without a recent kubectl: `make kustomize` builds it into bin/.
package kustomize

import _ "sigs.k8s.io/kustomize/kustomize/v5"
