package kube

import (
	"context"
	"fmt"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// Namespaces lists the names of at most limit namespaces, sorted, as
// Names does.
func (c *Cluster) Namespaces(ctx context.Context, limit int) ([]string, error) {
	return c.Names(ctx, canonical.Type{Version: "v1", Resource: "namespaces", Kind: "Namespace"}, "", limit)
}

// Names lists the names of at most limit objects of t, sorted: in
// namespace when t is namespaced and namespace is set, else in all of
// them. It asks for one page of metadata only, not whole objects, so that
// a shell completing a name waits for a single small answer.
func (c *Cluster) Names(ctx context.Context, t canonical.Type, namespace string, limit int) ([]string, error) {
	mc, err := metadata.NewForConfig(c.config)
	if err != nil {
		return nil, fmt.Errorf("metadata client for %s: %w", c.config.Host, err)
	}
	ri := mc.Resource(schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource})
	var r metadata.ResourceInterface = ri
	if t.Namespaced && namespace != "" {
		r = ri.Namespace(namespace)
	}
	l, err := r.List(ctx, metav1.ListOptions{Limit: int64(limit)})
	if err != nil {
		return nil, c.listError(t, err)
	}
	out := make([]string, 0, len(l.Items))
	for _, o := range l.Items {
		out = append(out, o.Name)
	}
	sort.Strings(out)
	return out, nil
}
