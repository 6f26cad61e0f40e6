package dra

import (
	"context"
	"fmt"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// Informers feed a View from the API server: every ResourceSlice and every
// ResourceClaim.
type Informers struct {
	factory informers.SharedInformerFactory
	synced  []toolscache.InformerSynced
}

// NewInformers builds the informers for client and registers the view's
// handlers on them.
func NewInformers(client kubernetes.Interface, v *View) (*Informers, error) {
	f := informers.NewSharedInformerFactory(client, 0)
	slices := f.Resource().V1().ResourceSlices().Informer()
	claims := f.Resource().V1().ResourceClaims().Informer()
	unwrap := func(obj any) any {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			return d.Obj
		}
		return obj
	}
	if _, err := slices.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { setSlice(v, obj) },
		UpdateFunc: func(_, obj any) { setSlice(v, obj) },
		DeleteFunc: func(obj any) {
			if s, ok := unwrap(obj).(*resourcev1.ResourceSlice); ok {
				v.DeleteSlice(s.Name)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("registering the ResourceSlice handlers: %w", err)
	}
	if _, err := claims.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { setClaim(v, obj) },
		UpdateFunc: func(_, obj any) { setClaim(v, obj) },
		DeleteFunc: func(obj any) {
			if c, ok := unwrap(obj).(*resourcev1.ResourceClaim); ok {
				v.DeleteClaim(c.UID)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("registering the ResourceClaim handlers: %w", err)
	}
	return &Informers{factory: f, synced: []toolscache.InformerSynced{slices.HasSynced, claims.HasSynced}}, nil
}

func setSlice(v *View, obj any) {
	if s, ok := obj.(*resourcev1.ResourceSlice); ok {
		v.SetSlice(s)
	}
}

func setClaim(v *View, obj any) {
	if c, ok := obj.(*resourcev1.ResourceClaim); ok {
		v.SetClaim(c)
	}
}

// Start starts the informers; they stop when ctx ends.
func (i *Informers) Start(ctx context.Context) { i.factory.Start(ctx.Done()) }

// WaitForSync waits until both informers have listed, false when ctx ended
// first.
func (i *Informers) WaitForSync(ctx context.Context) bool {
	return toolscache.WaitForCacheSync(ctx.Done(), i.synced...)
}

// Shutdown waits for the informers to stop after ctx ended.
func (i *Informers) Shutdown() { i.factory.Shutdown() }
