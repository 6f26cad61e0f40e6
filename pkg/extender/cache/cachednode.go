package cache

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// cachedNode is what the node informer's cache keeps of a Node: its name and
// the cards read from it, computed once when the node arrives or changes.
// Only the state reads nodes, and it needs nothing else; the labels,
// annotations and resource maps a Node decodes into would otherwise be most
// of the cache of a 10,000-node cluster.
//
// A cachedNode and its info are shared by the cache and the state, and never
// changed once built.
type cachedNode struct {
	// name, uid and resourceVersion are the node's: what the cache's key
	// and the informer's resync check read (see GetObjectMeta).
	name            string
	uid             types.UID
	resourceVersion string
	info            *nodeInfo
}

var (
	_ metav1.ObjectMetaAccessor = (*cachedNode)(nil)
	_ runtime.Object            = (*cachedNode)(nil)
)

// GetObjectMeta implements metav1.ObjectMetaAccessor; the metadata is built
// when asked for rather than kept, as for cachedPod.
func (c *cachedNode) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: c.name, UID: c.uid, ResourceVersion: c.resourceVersion}
}

// GetObjectKind implements runtime.Object: a cachedNode is never encoded.
func (c *cachedNode) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object; everything a summary holds is
// immutable, so the copy shares it.
func (c *cachedNode) DeepCopyObject() runtime.Object {
	out := *c
	return &out
}

// nodeTransform is the node informer's transform: a Node becomes its
// summary, read with s's vocabulary and with the state's single copies of
// the card types. It passes a summary through unchanged.
func nodeTransform(s *State) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return obj, nil
		}
		info := nodeInfoFrom(n, s.voc)
		s.internTypes(info.cards)
		return &cachedNode{name: n.Name, uid: n.UID, resourceVersion: n.ResourceVersion, info: info}, nil
	}
}

// sameCards tells whether two node infos offer the same cards the same
// way, so that a Node update that changes nothing for them (its status
// heartbeat, a label the extender does not read) costs no snapshot.
func (i *nodeInfo) sameCards(o *nodeInfo) bool {
	return slices.Equal(i.cards, o.cards) && i.wholeResource == o.wholeResource && i.wholeCards == o.wholeCards &&
		i.vgpu == o.vgpu && i.cpuMilli == o.cpuMilli && i.memMiB == o.memMiB && errorText(i.err) == errorText(o.err) &&
		i.sharing == o.sharing && slices.Equal(i.units, o.units)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
