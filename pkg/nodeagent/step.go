package nodeagent

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// Step names, in the order a pass runs them and `check` prints them.
const (
	StepDriver       = "driver"
	StepDevices      = "devices"
	StepRuntime      = "runtime"
	StepDevicePlugin = "device plugin"
	StepExporter     = "exporter"
)

// Verdict is a step's outcome.
type Verdict string

const (
	// Ready: the step found the node as it should be.
	Ready Verdict = "ready"
	// NotReady: the step found a problem; the message says which and what
	// to do.
	NotReady Verdict = "not ready"
	// Unknown: the step could not tell, because a step it depends on
	// failed (no cards known, so nothing to compare the device plugin with).
	Unknown Verdict = "unknown"
	// Skipped: the step does not apply in this mode.
	Skipped Verdict = "skipped"
)

// StepResult is one step's verdict, with a machine-readable reason (the
// node condition's reason) and a message for people.
type StepResult struct {
	Step    string
	Verdict Verdict
	Reason  string
	Message string
}

// conditionStatus maps a verdict onto a condition status.
func (v Verdict) conditionStatus() corev1.ConditionStatus {
	switch v {
	case Ready:
		return corev1.ConditionTrue
	case NotReady:
		return corev1.ConditionFalse
	}
	return corev1.ConditionUnknown
}

// conditionTypes lists the four conditions in a fixed order.
func conditionTypes() []string {
	return []string{api.ConditionDriverReady, api.ConditionRuntimeReady, api.ConditionDevicePluginReady, api.ConditionExporterReady}
}
