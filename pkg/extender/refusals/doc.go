// Package refusals keeps the extender's latest filter verdict on each pod it
// was asked about, for the web page (pkg/extender/ui) to say why a pod
// waits: how many candidate nodes there were, how many fit, and the
// extender's reasons for the others, grouped. The record is bounded: it holds
// the most recently filtered pods only, and it is kept only when the page is
// served (a nil *Record records nothing and costs nothing).
//
// It imports nothing of gpuplane.
package refusals
