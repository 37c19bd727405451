package kube

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/restore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var _ restore.Target = (*Target)(nil)

// Target is the cluster as a restore writes to it: server-side apply under
// restore.FieldManager, deletes, waits for CustomResourceDefinitions, and
// the restore lease. It implements restore.Target; Cluster.Target builds it.
type Target struct {
	// Rules are the user's normalization rules: a forced apply leaves the
	// fields they ignore to the managers that own them, so a restore never
	// clears them.
	Rules canonical.Rules
	// Log hears what Hold cannot return: a restore lease it failed to
	// renew or to remove. Nil discards.
	Log *slog.Logger

	c             *Cluster
	leaseDuration time.Duration
}

// Target returns the restore side of c.
func (c *Cluster) Target() *Target {
	return &Target{c: c, leaseDuration: RestoreLeaseDuration}
}

// Served lists the preferred version of every served type and the
// server's version, as Cluster.Discover does. Groups whose discovery
// failed (an unavailable APIService) are left out, not an error.
func (tg *Target) Served(ctx context.Context) ([]canonical.Type, string, error) {
	d, err := tg.c.Discover(ctx)
	if err != nil {
		return nil, "", err
	}
	return d.Types, d.ServerVersion, nil
}

// Each calls fn for every live object of type t, a page at a time, in
// namespace, or in all of them when namespace is "". An error of fn stops
// the list and is returned as it is.
func (tg *Target) Each(ctx context.Context, t canonical.Type, namespace string, fn func(*unstructured.Unstructured) error) error {
	_, err := tg.c.List(ctx, t, snapsync.ListOptions{Namespace: namespace}, fn)
	return err
}

// namespaceOf is the namespace a request for an object of t goes to:
// none for a cluster-wide type.
func namespaceOf(t canonical.Type, namespace string) (string, error) {
	if !t.Namespaced {
		return "", nil
	}
	if namespace == "" {
		return "", fmt.Errorf("%s are namespaced, and the object has no namespace: set metadata.namespace", t.ResourceDir())
	}
	return namespace, nil
}

// resource is the client for objects of t in namespace, in the version of
// apiVersion when that is of t's group.
func (tg *Target) resource(t canonical.Type, namespace, apiVersion string) dynamic.ResourceInterface {
	gvr := schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
	if gv, err := schema.ParseGroupVersion(apiVersion); err == nil && gv.Group == t.Group && gv.Version != "" {
		gvr.Version = gv.Version
	}
	ri := tg.c.dynamic.Resource(gvr)
	if namespace != "" {
		return ri.Namespace(namespace)
	}
	return ri
}
