// Package ui is the extender's web page: a read-only, live picture of the
// cluster's GPUs. Each node is a row of its cards, each card shaded by what is
// allocated on it (whole-card pods, vGPU cores and memory shares) and outlined
// by its measured load (the DCGM series the extender scores with), and the
// GPU pods that wait are listed with the extender's latest reasons.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary, with no
// external assets; it polls view.json on the same server, and every URL in it
// is relative, so it works under the API server's service proxy
// (/api/v1/namespaces/NS/services/SVC:PORT/proxy/). The handler answers GET
// (and HEAD) only. It reads the extender's cache through its snapshot
// accessors and shows of a pod only its name, its GPU request and the
// extender's reasons: never its environment or other annotations.
//
// It imports the extender's cache, refusals and request packages, load and
// api; it must not import pkg/extender (the verbs) or a client.
package ui
