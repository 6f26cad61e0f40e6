// Package draclaim turns a request in the DRA form (catalog.DRAClaim) into
// the ResourceClaimTemplate a pod's claim is made from, named after its
// content, so that the webhook that references it and the controller that
// creates it agree on one name without talking to each other.
//
// It holds no client and creates nothing: pkg/claimtemplates does. It must
// not import the webhook, the extender or the node agent.
package draclaim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// RequestName names the one device request of the claim.
const RequestName = "gpu"

// prefix starts every template name.
const prefix = "gpuplane-"

// ForRequest returns the template of a resolved request of whole cards on
// cat: nil when the request's pool (catalog.PoolForRequest) gives cards by
// device plugin, or for a request of no whole cards (a share, virtual cards
// and MIG instances are served by the pool the catalog resolved them to); an
// error, quoting the request, when the pool allocates by DRA and cannot serve
// it (catalog.ErrNoDRA). forceDRA takes the form of a
// DRA pool with NVIDIA's driver whatever the catalog's pools say, as
// `webhook explain --dra` does.
func ForRequest(cat *catalog.Catalog, res catalog.Resolved, forceDRA bool) (*resourcev1.ResourceClaimTemplate, error) {
	if res.Kind != catalog.KindWhole && !forceDRA {
		// Shares, virtual cards and MIG instances go to the pool the
		// catalog's resolution chose, one whose sharing backend keeps them
		// on device-plugin allocation.
		return nil, nil
	}
	pool := cat.PoolForRequest(res)
	if forceDRA {
		pool = catalog.Pool{Allocation: catalog.AllocationDRA, DRA: catalog.DRA{
			DeviceClass: catalog.DefaultDeviceClass, MIGDeviceClass: catalog.DefaultMIGDeviceClass, TypeAttribute: catalog.DefaultTypeAttribute}}
	}
	if pool.Allocation != catalog.AllocationDRA || res.Kind == catalog.KindNone {
		return nil, nil
	}
	claim, err := cat.DRAForm(res, pool.DRA)
	if err != nil {
		return nil, err
	}
	return Template(res.String(), claim), nil
}

// Template returns the template of claim, for the canonical request it
// serves; nil for a claim without alternatives ("0"). Its name is
// "gpuplane-" and the request in lower case (at most 40 characters of it),
// then a hash of the claim: a template's spec never changes, so a catalog
// that selects other devices for the same request names another template.
// The namespace is left empty: a template serves the pods of the namespace
// it is created in.
func Template(canonical string, claim catalog.DRAClaim) *resourcev1.ResourceClaimTemplate {
	if len(claim.Alternatives) == 0 {
		return nil
	}
	req := resourcev1.DeviceRequest{Name: RequestName}
	if len(claim.Alternatives) == 1 {
		d := claim.Alternatives[0]
		req.Exactly = &resourcev1.ExactDeviceRequest{
			DeviceClassName: d.DeviceClass,
			Selectors:       selectors(d.Selector),
			AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
			Count:           int64(d.Count),
		}
	} else {
		for _, d := range claim.Alternatives {
			req.FirstAvailable = append(req.FirstAvailable, resourcev1.DeviceSubRequest{
				Name:            d.Name,
				DeviceClassName: d.DeviceClass,
				Selectors:       selectors(d.Selector),
				AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
				Count:           int64(d.Count),
			})
		}
	}
	spec := resourcev1.ResourceClaimTemplateSpec{
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{req}}},
	}
	return &resourcev1.ResourceClaimTemplate{
		TypeMeta: metav1.TypeMeta{APIVersion: resourcev1.SchemeGroupVersion.String(), Kind: "ResourceClaimTemplate"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        Name(canonical, spec),
			Labels:      map[string]string{api.LabelManagedBy: api.ManagedBy},
			Annotations: map[string]string{api.AnnotationRequest: canonical},
		},
		Spec: spec,
	}
}

func selectors(expr string) []resourcev1.DeviceSelector {
	if expr == "" {
		return nil
	}
	return []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: expr}}}
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// Name is the template name of a canonical request and its template's
// spec: at most 63 characters, so that it is also a label value (the pod
// names it in api.LabelClaimTemplate).
func Name(canonical string, spec resourcev1.ResourceClaimTemplateSpec) string {
	slug := strings.Trim(notName.ReplaceAllString(strings.ToLower(canonical), "-"), "-")
	if len(slug) > 40 {
		slug = strings.TrimRight(slug[:40], "-")
	}
	data, err := json.Marshal(spec)
	if err != nil {
		// A spec of plain fields always encodes; failing is a build defect.
		panic(fmt.Sprintf("encoding a claim template: %v", err))
	}
	sum := sha256.Sum256(data)
	if slug == "" {
		return prefix + hex.EncodeToString(sum[:5])
	}
	return prefix + slug + "-" + hex.EncodeToString(sum[:5])
}
