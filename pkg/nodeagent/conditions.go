package nodeagent

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// maxConditionMessage keeps messages within what a node object should
// carry; a long list of unknown cards or a long NVML error is cut.
const maxConditionMessage = 1024

// conditionsFromSteps folds the five steps into the four conditions: the
// driver condition covers the cards too, since a driver that sees no card
// or an unknown one leaves the node as unusable as no driver at all.
func conditionsFromSteps(steps map[string]StepResult) map[string]StepResult {
	driver := steps[StepDriver]
	if devices, ok := steps[StepDevices]; ok && driver.Verdict == Ready {
		driver = StepResult{
			Step:    StepDriver,
			Verdict: devices.Verdict,
			Reason:  devices.Reason,
			Message: driver.Message + "; " + devices.Message,
		}
		if devices.Verdict == Ready && devices.Reason == "CardsFound" {
			driver.Reason = "DriverLoaded"
		}
	}
	return map[string]StepResult{
		api.ConditionDriverReady:       driver,
		api.ConditionRuntimeReady:      steps[StepRuntime],
		api.ConditionDevicePluginReady: steps[StepDevicePlugin],
		api.ConditionExporterReady:     steps[StepExporter],
	}
}

// desiredConditions returns the agent's four conditions as want says, ready
// to be applied (an apply names all of them: one left out would be
// removed), and how many differ from the node's in status, reason or
// message. The transition time moves only when the status changes, and the
// heartbeat only when something changed, so that a pass finding nothing
// new changes nothing.
func desiredConditions(node *corev1.Node, want map[string]StepResult, now metav1.Time) (conds []corev1.NodeCondition, changed int) {
	for _, t := range conditionTypes() {
		r, ok := want[t]
		if !ok || r.Verdict == "" {
			if cur := findCondition(node, t); cur != nil {
				conds = append(conds, *cur)
			}
			continue
		}
		c := corev1.NodeCondition{
			Type:               corev1.NodeConditionType(t),
			Status:             r.Verdict.conditionStatus(),
			Reason:             r.Reason,
			Message:            truncate(r.Message, maxConditionMessage),
			LastHeartbeatTime:  now,
			LastTransitionTime: now,
		}
		if cur := findCondition(node, t); cur != nil {
			if cur.Status == c.Status && cur.Reason == c.Reason && cur.Message == c.Message {
				conds = append(conds, *cur)
				continue
			}
			if cur.Status == c.Status {
				c.LastTransitionTime = cur.LastTransitionTime
			}
		}
		conds = append(conds, c)
		changed++
	}
	return conds, changed
}

func findCondition(node *corev1.Node, t string) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if string(node.Status.Conditions[i].Type) == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
