package claimtemplates

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/draclaim"
)

func draCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{{Name: "dra", Allocation: catalog.AllocationDRA}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func templateName(t *testing.T, cat *catalog.Catalog, req string) string {
	t.Helper()
	res, err := cat.ParseResolve(req)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := draclaim.ForRequest(cat, res, false)
	if err != nil || tmpl == nil {
		t.Fatalf("%s: %v %v", req, tmpl, err)
	}
	return tmpl.Name
}

func pod(ns, name, applied, template string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Labels:      map[string]string{api.LabelClaimTemplate: template},
		Annotations: map[string]string{api.AnnotationApplied: applied}}}
}

// waitTemplate waits until template ns/name exists (want) or not.
func waitTemplate(t *testing.T, ctx context.Context, client *fake.Clientset, ns, name string, want bool) *resourcev1.ResourceClaimTemplate {
	t.Helper()
	var got *resourcev1.ResourceClaimTemplate
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		tmpl, err := client.ResourceV1().ResourceClaimTemplates(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return !want, nil
		}
		got = tmpl
		return want && err == nil, err
	})
	if err != nil {
		t.Fatalf("template %s/%s exists=%v: %v", ns, name, want, err)
	}
	return got
}

func TestController(t *testing.T) {
	cat := draCatalog(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	name := templateName(t, cat, "2(V100)")
	foreign := &resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "theirs"}}
	client := fake.NewClientset(pod("a", "p1", "2(V100)", name), foreign)
	done := make(chan error, 1)
	go func() { done <- New(client, cat).Run(ctx, 2) }()

	// An existing pod's template is created, as the catalog makes it.
	got := waitTemplate(t, ctx, client, "a", name, true)
	if got.Labels[api.LabelManagedBy] != api.ManagedBy || got.Spec.Spec.Devices.Requests[0].Exactly.Count != 2 {
		t.Errorf("template %+v", got)
	}
	// A second pod of the same request shares it; deleting the first keeps it.
	if _, err := client.CoreV1().Pods("a").Create(ctx, pod("a", "p2", "2(V100)", name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("a").Delete(ctx, "p1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A label a person wrote, naming a template the request does not take,
	// creates nothing; nor does a template of another namespace's pod appear
	// here.
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "forged", "2(V100)", "theirs"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "x", "1(V100)", "gpuplane-made-up"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A template deleted while a pod names it comes back.
	if err := client.ResourceV1().ResourceClaimTemplates("a").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTemplate(t, ctx, client, "a", name, true)
	// With its last pod gone, the template goes; someone else's stays even
	// when no pod names it.
	for _, p := range []struct{ ns, name string }{{"a", "p2"}, {"b", "forged"}} {
		if err := client.CoreV1().Pods(p.ns).Delete(ctx, p.name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitTemplate(t, ctx, client, "a", name, false)
	waitTemplate(t, ctx, client, "b", "theirs", true)
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "resourceclaimtemplates" && a.GetNamespace() == "b" {
			t.Errorf("a template was created in namespace b, whose pods' labels do not name their requests' templates: %+v", a)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
