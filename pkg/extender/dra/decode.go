// Package dra is the extender's picture of the nodes whose cards a DRA driver
// publishes (docs/dra.md): the devices of each node read from ResourceSlices,
// which of them allocated ResourceClaims hold, and the request of a pod in
// gpuplane's DRA form. kube-scheduler's own DRA plugin allocates the devices;
// this package only lets the extender filter and score nodes for such pods
// with the same placement code as for device-plugin pods. It never writes an
// allocation.
//
// It may import pkg/placement, pkg/catalog, pkg/gpuspec, pkg/api,
// pkg/extender/cache (for the snapshot type the verbs read) and client-go;
// it must not import the verbs (pkg/extender) nor the wire format.
package dra

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"

	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// ErrMalformed marks a slice or claim this package cannot read.
var ErrMalformed = errors.New("malformed DRA object")

// DeviceKey names a device as an allocation result does.
type DeviceKey struct {
	Driver, Pool, Device string
}

func (k DeviceKey) String() string { return k.Driver + "/" + k.Pool + "/" + k.Device }

// Device is a card a slice publishes.
type Device struct {
	Key DeviceKey
	// Type is the catalog type its type attribute names.
	Type string
	// MemoryMiB is its memory capacity; 0 when not published.
	MemoryMiB int64
}

// Slice is what the extender reads of a ResourceSlice: the node and the cards.
type Slice struct {
	Node    string
	Pool    string
	Devices []Device
}

// Typer tells the catalog type of a device from its attributes.
type Typer struct {
	cat   *catalog.Catalog
	attrs []attribute // the DRA pools' type attributes, each once
}

type attribute struct{ domain, name string }

// NewTyper reads the type attributes of the catalog's DRA pools.
func NewTyper(cat *catalog.Catalog) *Typer {
	t := &Typer{cat: cat}
	for _, p := range cat.Pools {
		if p.Allocation != catalog.AllocationDRA {
			continue
		}
		d, n := p.DRA.AttributeDomain()
		if a := (attribute{d, n}); !slices.Contains(t.attrs, a) {
			t.attrs = append(t.attrs, a)
		}
	}
	return t
}

// typeOf returns the catalog type of a device of driver, "" when none of the
// type attributes names a catalog type. An attribute without a domain is the
// driver's.
func (t *Typer) typeOf(driver string, d *resourcev1.Device) string {
	for _, a := range t.attrs {
		v, ok := d.Attributes[resourcev1.QualifiedName(a.domain+"/"+a.name)]
		if !ok && a.domain == driver {
			v, ok = d.Attributes[resourcev1.QualifiedName(a.name)]
		}
		if !ok || v.StringValue == nil {
			continue
		}
		if ty, ok := t.cat.MatchProduct(*v.StringValue); ok {
			return ty.Name
		}
	}
	return ""
}

// maxDevices bounds the devices a slice may publish, as the API server does.
const maxDevices = resourcev1.ResourceSliceMaxDevices

// DecodeSlice reads the cards of a slice of one node. Devices that are not
// whole GPUs — a "type" attribute of the driver other than "gpu", as NVIDIA's
// driver marks MIG devices — or whose type attribute names no catalog type
// are left out; a slice of no node (network-attached devices) yields none.
func DecodeSlice(s *resourcev1.ResourceSlice, t *Typer) (Slice, error) {
	spec := &s.Spec
	if spec.NodeName == nil || *spec.NodeName == "" {
		return Slice{}, nil
	}
	if spec.Driver == "" || spec.Pool.Name == "" {
		return Slice{}, fmt.Errorf("%w: slice %s: no driver or pool name", ErrMalformed, s.Name)
	}
	if len(spec.Devices) > maxDevices {
		return Slice{}, fmt.Errorf("%w: slice %s: %d devices, at most %d", ErrMalformed, s.Name, len(spec.Devices), maxDevices)
	}
	out := Slice{Node: *spec.NodeName, Pool: spec.Pool.Name}
	for i := range spec.Devices {
		d := &spec.Devices[i]
		if kind, ok := d.Attributes["type"]; ok && kind.StringValue != nil && *kind.StringValue != "gpu" {
			continue
		}
		typ := t.typeOf(spec.Driver, d)
		if typ == "" {
			continue
		}
		dev := Device{Key: DeviceKey{spec.Driver, spec.Pool.Name, d.Name}, Type: typ}
		if c, ok := d.Capacity["memory"]; ok {
			mib := c.Value.Value() >> 20
			if mib < 0 || mib > 1<<24 {
				return Slice{}, fmt.Errorf("%w: slice %s: device %s: memory %s out of range", ErrMalformed, s.Name, d.Name, c.Value.String())
			}
			dev.MemoryMiB = mib
		}
		out.Devices = append(out.Devices, dev)
	}
	return out, nil
}

// DecodeClaim returns the devices an allocated claim holds; none when it is
// not allocated.
func DecodeClaim(c *resourcev1.ResourceClaim) ([]DeviceKey, error) {
	a := c.Status.Allocation
	if a == nil {
		return nil, nil
	}
	if len(a.Devices.Results) > resourcev1.AllocationResultsMaxSize {
		return nil, fmt.Errorf("%w: claim %s/%s: %d results, at most %d", ErrMalformed, c.Namespace, c.Name,
			len(a.Devices.Results), resourcev1.AllocationResultsMaxSize)
	}
	out := make([]DeviceKey, 0, len(a.Devices.Results))
	for _, r := range a.Devices.Results {
		if r.Driver == "" || r.Pool == "" || r.Device == "" {
			return nil, fmt.Errorf("%w: claim %s/%s: a result names no driver, pool or device", ErrMalformed, c.Namespace, c.Name)
		}
		out = append(out, DeviceKey{r.Driver, r.Pool, r.Device})
	}
	return out, nil
}

// node builds the placement node of the devices, held ones fully used.
// Devices are ordered by name with numbers compared as numbers (gpu-2 before
// gpu-10), and indexed in that order.
func node(name string, devices []Device, held func(DeviceKey) bool) placement.Node {
	devices = slices.Clone(devices)
	slices.SortFunc(devices, func(a, b Device) int { return compareNatural(a.Key.String(), b.Key.String()) })
	if len(devices) > placement.MaxCards {
		devices = devices[:placement.MaxCards]
	}
	n := placement.Node{Name: name, WholeCards: true, Cards: make([]placement.Card, len(devices))}
	for i, d := range devices {
		n.Cards[i] = placement.Card{Index: i, UUID: d.Key.Device, Type: d.Type, MemoryMiB: d.MemoryMiB}
		if held(d.Key) {
			n.Cards[i].UsedMilli = placement.MilliPerCard
			n.Cards[i].UsedMemoryMiB = d.MemoryMiB
		}
	}
	return n
}

// compareNatural compares strings with runs of digits compared as numbers.
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.ParseUint(strings.TrimLeft(a[:da], "0"), 10, 64)
			nb, _ := strconv.ParseUint(strings.TrimLeft(b[:db], "0"), 10, 64)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	i := 0
	for i < len(s) && i < 18 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
