package hami

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ContainerDevice is one card given to a container.
type ContainerDevice struct {
	UUID string
	// Type is the device type, DeviceTypeNVIDIA for NVIDIA cards.
	Type      string
	MemoryMiB int64
	// Cores is the container's compute limit on the card, in percent of a
	// card (HAMi-core's CUDA_DEVICE_SM_LIMIT); 0 means no limit.
	Cores int
}

// PodDevices is the value of AnnotationToAllocate and AnnotationAllocated:
// for each container of the pod, by its index in spec.containers, the
// cards it gets (none for a container without GPU). Trailing containers
// without cards may be left out.
type PodDevices [][]ContainerDevice

// maxContainers bounds the containers one annotation may describe.
const maxContainers = 256

// EncodePodDevices writes pd as HAMi's scheduler writes it: each card
// "UUID,type,memMiB,cores" ended by ':', each container ended by ';'.
func EncodePodDevices(pd PodDevices) (string, error) {
	if err := pd.validate(); err != nil {
		return "", fmt.Errorf("encoding %s: %w", AnnotationAllocated, err)
	}
	var b strings.Builder
	for _, c := range pd {
		for _, d := range c {
			fmt.Fprintf(&b, "%s,%s,%d,%d:", d.UUID, d.Type, d.MemoryMiB, d.Cores)
		}
		b.WriteByte(';')
	}
	return b.String(), nil
}

// DecodePodDevices reads an AnnotationToAllocate or AnnotationAllocated
// value. The empty string is a pod with no cards. Every error wraps
// ErrMalformed.
func DecodePodDevices(s string) (PodDevices, error) {
	pd, err := decodePodDevices(s)
	if err == nil {
		err = pd.validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: pod devices %q: %w", ErrMalformed, clip(s), err)
	}
	return pd, nil
}

func decodePodDevices(s string) (PodDevices, error) {
	if s == "" {
		return PodDevices{}, nil
	}
	parts := strings.Split(s, ";")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // every container is ended by ';'
	}
	if len(parts) > maxContainers {
		return nil, fmt.Errorf("%d containers, at most %d", len(parts), maxContainers)
	}
	pd := make(PodDevices, len(parts))
	for ci, part := range parts {
		for _, entry := range strings.Split(part, ":") {
			if entry == "" {
				continue
			}
			f := strings.Split(entry, ",")
			if len(f) != 4 {
				return nil, fmt.Errorf("container %d: card %q has %d fields, want 4 (UUID,type,memMiB,cores)", ci, entry, len(f))
			}
			mem, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("container %d: memory %q is not an integer", ci, f[2])
			}
			cores, err := strconv.Atoi(f[3])
			if err != nil {
				return nil, fmt.Errorf("container %d: cores %q is not an integer", ci, f[3])
			}
			pd[ci] = append(pd[ci], ContainerDevice{UUID: f[0], Type: f[1], MemoryMiB: mem, Cores: cores})
		}
	}
	return pd, nil
}

func (pd PodDevices) validate() error {
	if len(pd) > maxContainers {
		return fmt.Errorf("%d containers, at most %d", len(pd), maxContainers)
	}
	for ci, c := range pd {
		if len(c) > maxDevices {
			return fmt.Errorf("container %d: %d cards, at most %d", ci, len(c), maxDevices)
		}
		seen := make(map[string]bool, len(c))
		for _, d := range c {
			switch {
			case !token(d.UUID):
				return fmt.Errorf("container %d: uuid %q is empty or holds a separator", ci, d.UUID)
			case seen[d.UUID]:
				return fmt.Errorf("container %d: card %s given twice", ci, d.UUID)
			case !token(d.Type):
				return fmt.Errorf("container %d: card %s: type %q is empty or holds a separator", ci, d.UUID, d.Type)
			case d.MemoryMiB < 0 || d.MemoryMiB > maxMemoryMiB:
				return fmt.Errorf("container %d: card %s: memory %d MiB out of range 0..%d", ci, d.UUID, d.MemoryMiB, maxMemoryMiB)
			case d.Cores < 0 || d.Cores > maxCores:
				return fmt.Errorf("container %d: card %s: cores %d out of range 0..%d", ci, d.UUID, d.Cores, maxCores)
			}
			seen[d.UUID] = true
		}
	}
	return nil
}

// Cards counts the cards of all containers.
func (pd PodDevices) Cards() int {
	n := 0
	for _, c := range pd {
		n += len(c)
	}
	return n
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// Unix writes t as HAMi writes its time annotations: Unix seconds.
func Unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// NodeLock is the value of AnnotationNodeLock: who locked the node, when.
// HAMi's device plugin reads it to find the pod it is allocating, and
// releases it once the pod is allocated; a lock older than NodeLockTimeout
// is stale.
type NodeLock struct {
	Time      time.Time
	Namespace string
	Name      string
}

// NodeLockTimeout is how long HAMi honours a node lock (its default; HAMi
// reads HAMI_NODELOCK_EXPIRE to change it).
const NodeLockTimeout = 5 * time.Minute

// String writes the lock as HAMi writes it: "RFC3339,namespace,name".
func (l NodeLock) String() string {
	return l.Time.UTC().Format(time.RFC3339) + "," + l.Namespace + "," + l.Name
}

// DecodeNodeLock reads a lock: "RFC3339,namespace,name", or a bare RFC3339
// time (a lock no pod owns). Every error wraps ErrMalformed.
func DecodeNodeLock(s string) (NodeLock, error) {
	f := strings.Split(s, ",")
	if len(f) != 1 && len(f) != 3 {
		return NodeLock{}, fmt.Errorf("%w: %s %q: %d comma-separated fields, want \"time,namespace,name\"", ErrMalformed, AnnotationNodeLock, clip(s), len(f))
	}
	t, err := time.Parse(time.RFC3339, f[0])
	if err != nil {
		return NodeLock{}, fmt.Errorf("%w: %s %q: time %q is not RFC3339", ErrMalformed, AnnotationNodeLock, clip(s), clip(f[0]))
	}
	l := NodeLock{Time: t}
	if len(f) == 3 {
		if f[1] == "" || f[2] == "" {
			return NodeLock{}, fmt.Errorf("%w: %s %q: empty namespace or name", ErrMalformed, AnnotationNodeLock, clip(s))
		}
		l.Namespace, l.Name = f[1], f[2]
	}
	return l, nil
}
