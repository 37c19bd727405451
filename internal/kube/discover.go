package kube

import (
	"context"
	"errors"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Discover lists the preferred version of every resource type.
func (c *Cluster) Discover(ctx context.Context) (snapsync.Discovery, error) {
	var out snapsync.Discovery
	v, err := c.discovery.ServerVersion()
	if err != nil {
		return out, c.unreachable(err)
	}
	out.ServerVersion = v.GitVersion
	lists, err := c.discovery.ServerPreferredResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	switch {
	case errors.As(err, &failed):
		out.FailedGroups = map[string]string{}
		for gv, e := range failed.Groups {
			out.FailedGroups[gv.String()] = e.Error()
		}
	case err != nil:
		return out, c.unreachable(err)
	}
	aggregated := c.aggregated(ctx)
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			out.Types = append(out.Types, canonical.Type{
				Group: gv.Group, Version: gv.Version, Resource: r.Name, Kind: r.Kind,
				Namespaced: r.Namespaced, Verbs: r.Verbs, Aggregated: aggregated[l.GroupVersion],
			})
		}
	}
	sort.Slice(out.Types, func(i, j int) bool { return out.Types[i].ResourceDir() < out.Types[j].ResourceDir() })
	return out, ctx.Err()
}

// aggregated returns the group/versions that extension API servers serve:
// the APIServices with a service behind them. When they cannot be listed,
// none are known, and their lists fall back to fresh ones if they must.
func (c *Cluster) aggregated(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	l, err := c.dynamic.Resource(schema.GroupVersionResource{Group: canonical.APIServiceGroup, Version: "v1", Resource: "apiservices"}).
		List(ctx, metav1.ListOptions{})
	if err != nil {
		return out
	}
	for _, a := range l.Items {
		if svc, _, _ := unstructured.NestedMap(a.Object, "spec", "service"); svc != nil {
			g, _, _ := unstructured.NestedString(a.Object, "spec", "group")
			v, _, _ := unstructured.NestedString(a.Object, "spec", "version")
			out[schema.GroupVersion{Group: g, Version: v}.String()] = true
		}
	}
	return out
}

// undiscovered returns the first of gvs whose discovery does not list
// resource. It reads the aggregated discovery document where the server
// has one, as Discover does: the per-version endpoint serves a new CRD
// before the aggregated document lists it.
func (c *Cluster) undiscovered(ctx context.Context, gvs []schema.GroupVersion, resource string) (string, error) {
	lists := func(l *metav1.APIResourceList) bool {
		if l == nil {
			return false
		}
		for _, r := range l.APIResources {
			if r.Name == resource {
				return true
			}
		}
		return false
	}
	if ad, ok := c.discovery.(discovery.AggregatedDiscoveryInterfaceWithContext); ok {
		_, byGV, _, err := ad.GroupsAndMaybeResourcesWithContext(ctx)
		if err != nil {
			return "", err
		}
		if byGV != nil {
			for _, gv := range gvs {
				if !lists(byGV[gv]) {
					return gv.String(), nil
				}
			}
			return "", nil
		}
	}
	dc := discovery.ToDiscoveryInterfaceWithContext(c.discovery)
	for _, gv := range gvs {
		l, err := dc.ServerResourcesForGroupVersionWithContext(ctx, gv.String())
		if err != nil && !apierrors.IsNotFound(err) {
			return "", err
		}
		if !lists(l) {
			return gv.String(), nil
		}
	}
	return "", nil
}
