package webhook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/draclaim"
)

// defaultSchedulerName is what the API server writes into a pod that names no
// scheduler; a pod carrying it has not chosen one.
const defaultSchedulerName = corev1.DefaultSchedulerName

// Options say how the webhook mutates pods. The zero value is ready to use.
type Options struct {
	// SchedulerName, when set, is written as spec.schedulerName of every pod carrying
	// a GPU request, so that gpuplane's scheduler profile places it. A pod that already
	// names another scheduler than the default one is refused rather than redirected.
	// Default: "" (the pod's scheduler is left alone).
	SchedulerName string
	// PlacementResource, when set, is an extended resource that a pod asking "0"
	// gets one of (limit and request), and so does a pod in the DRA form, whose claim
	// carries its cards: both ask no GPU resource the extender manages. With it
	// the scheduler extender, whose managedResources name it with
	// ignoredByScheduler, is called for those pods too and gpuplane's policy places
	// them: kube-scheduler calls an extender only for pods asking one of its
	// managedResources. No node advertises it; kube-scheduler ignores it as the
	// extender's configuration says, and the kubelet drops an extended resource its
	// node does not advertise before admitting a pod. Set it only together with a
	// scheduler configuration that names it (deploy/base/scheduler), or the pods
	// given it find no node. Default: "" (none).
	PlacementResource corev1.ResourceName
	// ForceDRA gives every request of the default vendor the DRA form of a pool
	// with NVIDIA's DRA driver, whatever the catalog's pools say; `webhook explain
	// --dra` sets it. Default: false (each request takes the form of its pool).
	ForceDRA bool
}

// Mutate returns pod as the webhook admits it: with the resources, node affinity,
// tolerations, scheduler, environment and gpuplane.io/applied annotation that its
// gpuplane.io annotations ask for (SPEC §2).
//
// pod itself is never modified. The result is pod itself when there is nothing to do:
// no gpuplane.io/gpu annotation, or gpuplane.io/applied already equal to the request's
// canonical form (a re-invocation). A refusal is an error whose message is written for
// the person who submitted the pod; errors.Is tells its class (ErrInvalidRequest,
// ErrUnknownContainer, ErrUnknownRole, ErrConflict).
func Mutate(pod *corev1.Pod, cat *catalog.Catalog, opts Options) (*corev1.Pod, error) {
	if _, ok := pod.Annotations[api.AnnotationGPU]; !ok {
		return pod, nil
	}
	p, err := planFor(pod.Annotations, &pod.Spec, cat, opts.ForceDRA)
	if err != nil {
		return nil, err
	}
	// A pod in the DRA form asks its cards through a claim, no extended
	// resource: it gets the marker too, or kube-scheduler never asks the
	// extender about it.
	if (p.kind == catalog.KindNone || p.template != nil) && opts.PlacementResource != "" {
		p.resources = append(p.resources, resourceAmount{name: opts.PlacementResource, quantity: *resource.NewQuantity(1, resource.DecimalSI)})
	}
	if pod.Annotations[api.AnnotationApplied] == p.canonical {
		return pod, nil
	}
	out := pod.DeepCopy()
	if err := p.apply(out, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// plan is what a pod's annotations ask for, resolved against the catalog and turned
// into Kubernetes types, before anything is written.
type plan struct {
	input       string
	canonical   string
	kind        catalog.Kind
	container   int // index into spec.containers
	resources   []resourceAmount
	required    []corev1.NodeSelectorRequirement
	preferred   []corev1.PreferredSchedulingTerm
	tolerations []corev1.Toleration
	env         []corev1.EnvVar // sorted by name
	// template is the claim template of the DRA form, whose name the pod
	// references; nil for the device-plugin form, which asks resources.
	template *resourcev1.ResourceClaimTemplate
	// vendorResource is the resource of the cards' vendor, which a container of
	// a pod in the DRA form may not also ask.
	vendorResource corev1.ResourceName
}

type resourceAmount struct {
	name     corev1.ResourceName
	quantity resource.Quantity
}

// planFor parses and resolves the annotations against spec's containers. The checks
// that need no more than the annotations and the container names happen here, the
// conflicts with what the pod already says in apply.
func planFor(annotations map[string]string, spec *corev1.PodSpec, cat *catalog.Catalog, forceDRA bool) (plan, error) {
	input := annotations[api.AnnotationGPU]
	// ParseResolve quotes the input as written in every error, also for the catalog's.
	res, err := cat.ParseResolve(input)
	if err != nil {
		return plan{}, &refusal{class: ErrInvalidRequest, msg: api.AnnotationGPU + ": " + err.Error(), cause: err}
	}
	idx, err := targetContainer(annotations[api.AnnotationContainer], spec)
	if err != nil {
		return plan{}, err
	}
	p := plan{input: input, canonical: res.String(), kind: res.Kind, container: idx}
	if p.template, err = draclaim.ForRequest(cat, res, forceDRA); err != nil {
		return plan{}, &refusal{class: ErrInvalidRequest, msg: api.AnnotationGPU + ": " + quoteAsWritten(err, input), cause: err}
	}
	if p.template != nil {
		// The claim carries the cards: no extended resource.
		res.Resources = nil
		p.vendorResource = corev1.ResourceName(res.Vendor.Resource)
	}

	for _, a := range res.Resources {
		p.resources = append(p.resources, resourceAmount{
			name:     corev1.ResourceName(a.Name),
			quantity: *resource.NewQuantity(a.Value, resource.DecimalSI),
		})
	}
	for _, r := range res.Required {
		p.required = append(p.required, nodeSelectorRequirement(r))
	}
	if role := strings.TrimSpace(annotations[api.AnnotationRole]); role != "" {
		r, err := cat.RoleRequirement(role)
		if err != nil {
			return plan{}, &refusal{
				class: ErrUnknownRole,
				msg:   api.AnnotationRole + ": " + err.Error(),
				cause: err,
			}
		}
		p.required = append(p.required, nodeSelectorRequirement(r))
	}
	for _, pref := range res.Preferred {
		p.preferred = append(p.preferred, corev1.PreferredSchedulingTerm{
			Weight: pref.Weight,
			Preference: corev1.NodeSelectorTerm{
				MatchExpressions: []corev1.NodeSelectorRequirement{nodeSelectorRequirement(pref.Requirement)},
			},
		})
	}
	for _, t := range res.Tolerations {
		p.tolerations = append(p.tolerations, corev1.Toleration{
			Key:      t.Key,
			Operator: corev1.TolerationOperator(t.Operator),
			Value:    t.Value,
			Effect:   corev1.TaintEffect(t.Effect),
		})
	}
	for name, value := range res.Env {
		p.env = append(p.env, corev1.EnvVar{Name: name, Value: value})
	}
	slices.SortFunc(p.env, func(a, b corev1.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}

func nodeSelectorRequirement(r catalog.Requirement) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{
		Key:      r.Key,
		Operator: corev1.NodeSelectorOperator(r.Operator),
		Values:   slices.Clone(r.Values),
	}
}

// targetContainer finds the container named by gpuplane.io/container, or the first.
func targetContainer(name string, spec *corev1.PodSpec) (int, error) {
	if len(spec.Containers) == 0 {
		return 0, &refusal{class: ErrUnknownContainer, msg: "the pod has no container to give the GPUs to"}
	}
	if name == "" {
		return 0, nil
	}
	names := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		if c.Name == name {
			return i, nil
		}
		names[i] = strconv.Quote(c.Name)
	}
	return 0, &refusal{
		class: ErrUnknownContainer,
		msg: fmt.Sprintf("%s %q: the pod has no container of that name; name one of %s, or drop the annotation to use the first",
			api.AnnotationContainer, name, strings.Join(names, ", ")),
	}
}

// apply writes the plan into pod, refusing where the pod already says otherwise.
func (p plan) apply(pod *corev1.Pod, opts Options) error {
	c := &pod.Spec.Containers[p.container]
	if err := p.applyResources(c); err != nil {
		return err
	}
	if err := p.applyClaim(pod, c); err != nil {
		return err
	}
	if err := p.applyEnv(c); err != nil {
		return err
	}
	if err := p.applyScheduler(&pod.Spec, opts.SchedulerName); err != nil {
		return err
	}
	p.applyAffinity(&pod.Spec)
	for _, t := range p.tolerations {
		if !slices.ContainsFunc(pod.Spec.Tolerations, func(have corev1.Toleration) bool { return sameToleration(have, t) }) {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, t)
		}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[api.AnnotationApplied] = p.canonical
	return nil
}

// applyResources sets each limit with an equal request; extended resources must have
// requests equal to limits, and the API server would copy the limit anyway.
func (p plan) applyResources(c *corev1.Container) error {
	for _, r := range p.resources {
		for _, have := range []struct {
			list corev1.ResourceList
			what string
		}{{c.Resources.Limits, "limits"}, {c.Resources.Requests, "requests"}} {
			if q, ok := have.list[r.name]; ok && q.Cmp(r.quantity) != 0 {
				return &refusal{class: ErrConflict, msg: fmt.Sprintf(
					"%s %q sets %s: %s on container %q, which already %s it to %s; remove that %s or make it %s",
					api.AnnotationGPU, p.input, r.name, r.quantity.String(), c.Name, have.what, q.String(),
					strings.TrimSuffix(have.what, "s"), r.quantity.String())}
			}
		}
	}
	for _, r := range p.resources {
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		c.Resources.Limits[r.name] = r.quantity
		c.Resources.Requests[r.name] = r.quantity
	}
	return nil
}

func (p plan) applyEnv(c *corev1.Container) error {
	for _, e := range p.env {
		i := slices.IndexFunc(c.Env, func(have corev1.EnvVar) bool { return have.Name == e.Name })
		if i < 0 {
			c.Env = append(c.Env, e)
			continue
		}
		if have := c.Env[i]; have.ValueFrom != nil || have.Value != e.Value {
			was := strconv.Quote(have.Value)
			if have.ValueFrom != nil {
				was = "a value from elsewhere (valueFrom)"
			}
			return &refusal{class: ErrConflict, msg: fmt.Sprintf(
				"%s %q sets %s=%s on container %q, which already sets it to %s; remove that variable or set it to %q",
				api.AnnotationGPU, p.input, e.Name, e.Value, c.Name, was, e.Value)}
		}
	}
	return nil
}

func (p plan) applyScheduler(spec *corev1.PodSpec, name string) error {
	if name == "" || spec.SchedulerName == name {
		return nil
	}
	if spec.SchedulerName != "" && spec.SchedulerName != defaultSchedulerName {
		return &refusal{class: ErrConflict, msg: fmt.Sprintf(
			"%s %q needs the scheduler %q, but the pod names schedulerName %q; remove schedulerName or set it to %q",
			api.AnnotationGPU, p.input, name, spec.SchedulerName, name)}
	}
	spec.SchedulerName = name
	return nil
}

// applyAffinity ANDs the required terms into every term the pod already has (a node
// must satisfy one term, so each must carry the GPU requirements), or creates the only
// term; preferred terms are added once each.
func (p plan) applyAffinity(spec *corev1.PodSpec) {
	if len(p.required) == 0 && len(p.preferred) == 0 {
		return
	}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if len(p.required) > 0 {
		if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
		}
		sel := na.RequiredDuringSchedulingIgnoredDuringExecution
		if len(sel.NodeSelectorTerms) == 0 {
			sel.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
		}
		for i := range sel.NodeSelectorTerms {
			term := &sel.NodeSelectorTerms[i]
			for _, r := range p.required {
				if !slices.ContainsFunc(term.MatchExpressions, func(have corev1.NodeSelectorRequirement) bool {
					return sameRequirement(have, r)
				}) {
					term.MatchExpressions = append(term.MatchExpressions, r)
				}
			}
		}
	}
	for _, pref := range p.preferred {
		if !slices.ContainsFunc(na.PreferredDuringSchedulingIgnoredDuringExecution, func(have corev1.PreferredSchedulingTerm) bool {
			return have.Weight == pref.Weight && len(have.Preference.MatchFields) == 0 &&
				slices.EqualFunc(have.Preference.MatchExpressions, pref.Preference.MatchExpressions, sameRequirement)
		}) {
			na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution, pref)
		}
	}
}

func sameRequirement(a, b corev1.NodeSelectorRequirement) bool {
	return a.Key == b.Key && a.Operator == b.Operator && slices.Equal(a.Values, b.Values)
}

func sameToleration(a, b corev1.Toleration) bool {
	op := func(o corev1.TolerationOperator) corev1.TolerationOperator {
		if o == "" {
			return corev1.TolerationOpEqual
		}
		return o
	}
	return a.Key == b.Key && op(a.Operator) == op(b.Operator) && a.Value == b.Value &&
		a.Effect == b.Effect && a.TolerationSeconds == nil && b.TolerationSeconds == nil
}
