package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// scheduleLimit bounds the wait for one pod's outcome; kube-scheduler decides
// within a second when it is idle.
const scheduleLimit = 30 * time.Second

// Outcomes of a request.
const (
	outcomeBound    = "bound"    // kube-scheduler, through the extender, bound the pod
	outcomePending  = "pending"  // unschedulable for now; the message says why
	outcomeRefused  = "refused"  // the webhook refused it at submission
	outcomeAdmitted = "admitted" // a workload was accepted (nothing creates its pods here)
)

// result is what became of one request.
type result struct {
	Request string `json:"request"`
	Role    string `json:"role,omitempty"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	// SchedulerName, Resources and Affinity are what the webhook wrote on the pod:
	// the scheduler profile, the container's limits, the required node labels.
	SchedulerName string            `json:"schedulerName,omitempty"`
	Resources     map[string]string `json:"resources,omitempty"`
	Affinity      string            `json:"affinity,omitempty"`
	Node          string            `json:"node,omitempty"`
	// Cards is what the pod holds, as the table shows it; Assigned is the
	// extender's card choice for a vGPU pod.
	Cards    string          `json:"cards,omitempty"`
	Assigned *api.Assignment `json:"assigned,omitempty"`
	// Message is the refusal, or why the pod is pending.
	Message string `json:"message,omitempty"`
}

// submit sends each request and waits for its outcome before the next, so that
// every run places them the same way.
func (e *env) submit(ctx context.Context, reqs []request) ([]result, error) {
	var results []result
	for _, req := range reqs {
		var r result
		var err error
		if req.deployment {
			r, err = e.submitDeployment(ctx, req)
		} else {
			r, err = e.submitPod(ctx, req)
		}
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

func (e *env) submitPod(ctx context.Context, req request) (result, error) {
	r := result{Request: req.gpu, Role: req.role, Kind: "Pod", Name: req.name}
	pods := e.client.CoreV1().Pods(demoNamespace)
	pod, err := pods.Create(ctx, newPod(req.name, req), metav1.CreateOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		r.Outcome, r.Message = outcomeRefused, err.Error()
		return r, nil
	}
	r.SchedulerName = pod.Spec.SchedulerName
	r.Resources = limits(pod)
	r.Affinity = requiredAffinity(pod)

	// Bound, or marked unschedulable by kube-scheduler, or still waiting at the limit.
	wait, cancel := context.WithTimeout(ctx, scheduleLimit)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if pod.Spec.NodeName != "" {
			return e.boundResult(ctx, r, pod)
		}
		if c := scheduledCondition(pod); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			r.Outcome, r.Message = outcomePending, c.Message
			return r, nil
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.Outcome = outcomePending
			r.Message = fmt.Sprintf("not scheduled within %s, and kube-scheduler has not said why", scheduleLimit)
			return r, nil
		case <-tick.C:
		}
		got, err := pods.Get(wait, req.name, metav1.GetOptions{})
		switch {
		case err == nil:
			pod = got
		case wait.Err() == nil:
			return r, fmt.Errorf("reading pod %s: %w", req.name, err)
		}
	}
}

func (e *env) boundResult(ctx context.Context, r result, pod *corev1.Pod) (result, error) {
	node, err := e.client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return r, fmt.Errorf("reading node %s of pod %s: %w", pod.Spec.NodeName, pod.Name, err)
	}
	r.Outcome, r.Node = outcomeBound, node.Name
	r.Cards, r.Assigned, err = cardsOf(pod, node, e.cat)
	if err != nil {
		// A bound pod whose assignment the demo cannot read is worth showing as it is.
		r.Message = err.Error()
	}
	return r, nil
}

func (e *env) submitDeployment(ctx context.Context, req request) (result, error) {
	r := result{Request: req.gpu, Role: req.role, Kind: "Deployment", Name: req.name}
	_, err := e.client.AppsV1().Deployments(demoNamespace).Create(ctx, newDeployment(req), metav1.CreateOptions{})
	switch {
	case err != nil && ctx.Err() != nil:
		return r, ctx.Err()
	case err != nil:
		r.Outcome, r.Message = outcomeRefused, err.Error()
	default:
		r.Outcome, r.Message = outcomeAdmitted, "accepted; no controller manager runs here, so it creates no pods"
	}
	return r, nil
}

func scheduledCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodScheduled {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// newPod is a pod asking for req in the shorthand, and for nothing else GPU-related:
// the webhook writes the rest. No kubelet runs, so its image is never pulled.
func newPod(name string, req request) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: demoNamespace, Annotations: annotations(req)},
		Spec:       podSpec(),
	}
}

func newDeployment(req request) *appsv1.Deployment {
	labels := map[string]string{"app": req.name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: req.name, Namespace: demoNamespace},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations(req)},
				Spec:       podSpec(),
			},
		},
	}
}

func annotations(req request) map[string]string {
	a := map[string]string{api.AnnotationGPU: req.gpu}
	if req.role != "" {
		a[api.AnnotationRole] = req.role
	}
	return a
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:    "main",
			Image:   "busybox",
			Command: []string{"sleep", "infinity"},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1"),
				corev1.ResourceMemory: resource.MustParse("4Gi"),
			}},
		}},
	}
}
