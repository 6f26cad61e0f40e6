package dra

import (
	"sync"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
)

// View is what the nodes of DRA pools hold: their cards from the slices, the
// cards allocated claims hold. Informers keep it current (SetSlice,
// DeleteSlice, SetClaim, DeleteClaim); the verbs read it through Snapshots.
// Its methods may be called from several goroutines.
type View struct {
	typer  *Typer
	logger klog.Logger

	mu     sync.RWMutex
	slices map[string]Slice          // by slice name
	nodes  map[string]map[string]int // node -> slice name -> devices
	claims map[types.UID][]DeviceKey
	held   map[DeviceKey]int // claims holding each device
}

// NewView returns an empty view typing devices with t.
func NewView(t *Typer, logger klog.Logger) *View {
	return &View{typer: t, logger: logger, slices: map[string]Slice{}, nodes: map[string]map[string]int{},
		claims: map[types.UID][]DeviceKey{}, held: map[DeviceKey]int{}}
}

// SetSlice records what a slice publishes, replacing what it published before.
// A slice that cannot be read publishes nothing, and is logged.
func (v *View) SetSlice(s *resourcev1.ResourceSlice) {
	d, err := DecodeSlice(s, v.typer)
	if err != nil {
		v.logger.Error(err, "Ignoring a ResourceSlice", "slice", s.Name)
		d = Slice{}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleteSliceLocked(s.Name)
	if d.Node == "" || len(d.Devices) == 0 {
		return
	}
	v.slices[s.Name] = d
	if v.nodes[d.Node] == nil {
		v.nodes[d.Node] = map[string]int{}
	}
	v.nodes[d.Node][s.Name] = len(d.Devices)
}

// DeleteSlice forgets a slice.
func (v *View) DeleteSlice(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleteSliceLocked(name)
}

func (v *View) deleteSliceLocked(name string) {
	old, ok := v.slices[name]
	if !ok {
		return
	}
	delete(v.slices, name)
	delete(v.nodes[old.Node], name)
	if len(v.nodes[old.Node]) == 0 {
		delete(v.nodes, old.Node)
	}
}

// SetClaim records the devices a claim holds (none until it is allocated).
func (v *View) SetClaim(c *resourcev1.ResourceClaim) {
	keys, err := DecodeClaim(c)
	if err != nil {
		v.logger.Error(err, "Ignoring a ResourceClaim's allocation", "claim", c.Namespace+"/"+c.Name)
		keys = nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleteClaimLocked(c.UID)
	if len(keys) == 0 {
		return
	}
	v.claims[c.UID] = keys
	for _, k := range keys {
		v.held[k]++
	}
}

// DeleteClaim forgets a claim.
func (v *View) DeleteClaim(uid types.UID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleteClaimLocked(uid)
}

func (v *View) deleteClaimLocked(uid types.UID) {
	for _, k := range v.claims[uid] {
		if v.held[k]--; v.held[k] <= 0 {
			delete(v.held, k)
		}
	}
	delete(v.claims, uid)
}

// Snapshots sets out[i] to the picture of node names[i] for the verbs: its
// cards with the held ones fully used; nil for a node no slice publishes cards
// of.
func (v *View) Snapshots(names []string, out []*cache.NodeSnapshot) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var empty cache.NodeSnapshot
	held := func(k DeviceKey) bool { return v.held[k] > 0 }
	for i, name := range names {
		sl := v.nodes[name]
		if len(sl) == 0 {
			out[i] = nil
			continue
		}
		var devices []Device
		for sliceName := range sl {
			devices = append(devices, v.slices[sliceName].Devices...)
		}
		out[i] = empty.WithNode(node(name, devices, held))
	}
}

// Held lists every device allocated claims hold with how many hold it: more
// than one is a device allocated twice.
func (v *View) Held() map[DeviceKey]int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make(map[DeviceKey]int, len(v.held))
	for k, n := range v.held {
		out[k] = n
	}
	return out
}
