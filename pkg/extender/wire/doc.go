// Package wire is the JSON codec of kube-scheduler's extender wire format
// (k8s.io/kube-scheduler/extender/v1), for the calls that carry thousands
// of node names: it decodes filter's and prioritize's arguments
// (DecodeExtenderArgs) and writes their answers (Answer), taking and
// writing exactly what encoding/json would, without reflection. Request
// bodies and answers are read and written into pooled buffers
// (BufferPool); a server may take the node names as places in the body
// (Pending) and read them where it looks the nodes up, and have a long
// answer written in parts (AppendOutcomeWith).
//
// It is a package of its own, as kube-scheduler keeps its extender's
// client apart from its cache and its framework, because it is a
// different job from the verbs that use it: how bytes map to the wire
// types, with its own fuzz tests against encoding/json, and nothing of
// what a node holds or how a pod is placed. Filter's verdicts reach it
// through FilterOutcome, so it imports nothing of the verbs.
//
// It may import the Kubernetes API types and the standard library; it must
// not import other gpuplane packages.
package wire

import "errors"

// ErrBadRequest marks a body that is not the verb's JSON: every decoding
// error wraps it, and the handler answers it with 400.
var ErrBadRequest = errors.New("bad request")
