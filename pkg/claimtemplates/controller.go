// Package claimtemplates keeps the ResourceClaimTemplates that pods of DRA
// pools name (docs/dra.md): it creates a template in a pod's namespace once
// an admitted pod names it in the label gpuplane.io/claim-template, and
// deletes it when no pod of the namespace names it any more. It only acts
// on pods that exist, so a pod refused at admission leaves nothing behind,
// and it only touches templates labelled as gpuplane's.
//
// It imports the catalog and draclaim, never the webhook, the extender or
// the node agent.
package claimtemplates

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	resourcelisters "k8s.io/client-go/listers/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/draclaim"
)

// Controller keeps the claim templates. Build it with New, then Run it.
type Controller struct {
	client    kubernetes.Interface
	catalog   *catalog.Catalog
	pods      corelisters.PodLister
	templates resourcelisters.ResourceClaimTemplateLister
	synced    []cache.InformerSynced
	factories []informers.SharedInformerFactory
	queue     workqueue.TypedRateLimitingInterface[key]
}

// key is a template: its namespace and name.
type key struct{ namespace, name string }

// New returns a controller acting through client with the webhook's catalog:
// it creates a template only if the catalog gives the pod's request that
// template, so a label a person wrote by hand creates nothing else.
func New(client kubernetes.Interface, cat *catalog.Catalog) *Controller {
	c := &Controller{
		client:  client,
		catalog: cat,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[key](),
			workqueue.TypedRateLimitingQueueConfig[key]{Name: "claimtemplates"}),
	}
	podFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = api.LabelClaimTemplate }))
	tmplFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = api.LabelManagedBy + "=" + api.ManagedBy
		}))
	podInf := podFactory.Core().V1().Pods()
	tmplInf := tmplFactory.Resource().V1().ResourceClaimTemplates()
	c.pods, c.templates = podInf.Lister(), tmplInf.Lister()
	c.synced = []cache.InformerSynced{podInf.Informer().HasSynced, tmplInf.Informer().HasSynced}
	c.factories = []informers.SharedInformerFactory{podFactory, tmplFactory}

	enqueuePod := func(obj any) {
		if pod, ok := podOf(obj); ok {
			c.queue.Add(key{pod.Namespace, pod.Labels[api.LabelClaimTemplate]})
		}
	}
	enqueueTemplate := func(obj any) {
		if t, ok := templateOf(obj); ok {
			c.queue.Add(key{t.Namespace, t.Name})
		}
	}
	// Handler registration fails only on a stopped informer; these are new.
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(old, cur any) { enqueuePod(old); enqueuePod(cur) },
		DeleteFunc: enqueuePod,
	})
	_, _ = tmplInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueTemplate,
		DeleteFunc: enqueueTemplate,
	})
	return c
}

func podOf(obj any) (*corev1.Pod, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	return pod, ok && pod.Labels[api.LabelClaimTemplate] != ""
}

func templateOf(obj any) (*resourcev1.ResourceClaimTemplate, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	t, ok := obj.(*resourcev1.ResourceClaimTemplate)
	return t, ok
}

// Run starts the informers and workers and blocks until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	for _, f := range c.factories {
		f.Start(ctx.Done())
	}
	defer func() {
		for _, f := range c.factories {
			f.Shutdown()
		}
	}()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("claim templates: the caches of pods and templates did not sync: %w", context.Cause(ctx))
	}
	klog.FromContext(ctx).Info("Keeping the claim templates of DRA pods")
	for range max(workers, 1) {
		go wait.UntilWithContext(ctx, c.work, time.Second)
	}
	<-ctx.Done()
	return nil
}

func (c *Controller) work(ctx context.Context) {
	for {
		k, quit := c.queue.Get()
		if quit {
			return
		}
		err := c.sync(ctx, k)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Syncing a claim template; retrying", "namespace", k.namespace, "template", k.name)
			c.queue.AddRateLimited(k)
		} else {
			c.queue.Forget(k)
		}
		c.queue.Done(k)
	}
}

// sync makes template k exist while a pod of its namespace names it, and not
// otherwise.
func (c *Controller) sync(ctx context.Context, k key) error {
	logger := klog.FromContext(ctx).WithValues("namespace", k.namespace, "template", k.name)
	sel := labels.SelectorFromSet(labels.Set{api.LabelClaimTemplate: k.name})
	pods, err := c.pods.Pods(k.namespace).List(sel)
	if err != nil {
		return err
	}
	have, err := c.templates.ResourceClaimTemplates(k.namespace).Get(k.name)
	switch {
	case apierrors.IsNotFound(err):
		have = nil
	case err != nil:
		return err
	case have.Labels[api.LabelManagedBy] != api.ManagedBy:
		// Someone else's template of this name: the pods use it, and it is
		// not gpuplane's to create or delete.
		logger.Info("A claim template of this name is not gpuplane's; leaving it alone")
		return nil
	}
	if len(pods) == 0 {
		if have == nil {
			return nil
		}
		uid := have.UID
		err := c.client.ResourceV1().ResourceClaimTemplates(k.namespace).Delete(ctx, k.name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting claim template %s/%s: %w", k.namespace, k.name, err)
		}
		logger.V(2).Info("Deleted a claim template no pod names")
		return nil
	}
	if have != nil {
		return nil // its name is a hash of its spec
	}
	want, reason := c.templateFor(pods, k.name)
	if want == nil {
		logger.Info("No pod naming this template asks for it; creating nothing", "reason", reason)
		return nil
	}
	want.Namespace = k.namespace
	_, err = c.client.ResourceV1().ResourceClaimTemplates(k.namespace).Create(ctx, want, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating claim template %s/%s: %w", k.namespace, k.name, err)
	}
	logger.V(2).Info("Created a claim template", "request", want.Annotations[api.AnnotationRequest])
	return nil
}

// templateFor returns the template named name that the request of one of
// pods resolves to, or nil and why none does.
func (c *Controller) templateFor(pods []*corev1.Pod, name string) (*resourcev1.ResourceClaimTemplate, string) {
	var reasons []string
	for _, pod := range pods {
		applied := pod.Annotations[api.AnnotationApplied]
		res, err := c.catalog.ParseResolve(applied)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("pod %s: %v", pod.Name, err))
			continue
		}
		t, err := draclaim.ForRequest(c.catalog, res, false)
		switch {
		case err != nil:
			reasons = append(reasons, fmt.Sprintf("pod %s: %v", pod.Name, err))
		case t == nil:
			reasons = append(reasons, fmt.Sprintf("pod %s: %s takes no claim with this catalog", pod.Name, applied))
		case t.Name != name:
			reasons = append(reasons, fmt.Sprintf("pod %s: %s takes template %s with this catalog", pod.Name, applied, t.Name))
		default:
			return t, ""
		}
	}
	return nil, strings.Join(reasons, "; ")
}
