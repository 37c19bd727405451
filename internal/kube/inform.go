package kube

import (
	"context"
	"fmt"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

var _ snapsync.Informers = (*Cluster)(nil)

// Inform starts a dynamic informer for t. Objects pass through
// opts.Transform before the informer stores them, so the cache holds
// only what the transform keeps. There is no resync: the handler hears
// of real changes only.
func (c *Cluster) Inform(ctx context.Context, t canonical.Type, opts snapsync.InformOptions, h snapsync.InformHandler) (snapsync.Informer, error) {
	gvr := schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
	ns := metav1.NamespaceAll
	if t.Namespaced {
		ns = opts.Namespace
	}
	gi := dynamicinformer.NewFilteredDynamicInformer(c.dynamic, gvr, ns, 0, cache.Indexers{}, func(lo *metav1.ListOptions) {
		lo.LabelSelector = opts.LabelSelector
	})
	inf := gi.Informer()
	if opts.Transform != nil {
		if err := inf.SetTransform(func(o any) (any, error) {
			if u, ok := o.(*unstructured.Unstructured); ok {
				return opts.Transform(u), nil
			}
			return o, nil
		}); err != nil {
			return nil, fmt.Errorf("inform %s: %w", t.ResourceDir(), err)
		}
	}
	if opts.OnError != nil {
		if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			if apierrors.IsForbidden(err) {
				err = fmt.Errorf("%w: watch %s: %s", snapsync.ErrForbidden, t.ResourceDir(), apierrors.ReasonForError(err))
			}
			opts.OnError(err)
		}); err != nil {
			return nil, fmt.Errorf("inform %s: %w", t.ResourceDir(), err)
		}
	}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { upsert(h, o) },
		UpdateFunc: func(_, o any) { upsert(h, o) },
		DeleteFunc: func(o any) {
			if tomb, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = tomb.Obj
			}
			if u, ok := o.(*unstructured.Unstructured); ok {
				h.Delete(u)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("inform %s: %w", t.ResourceDir(), err)
	}
	ictx, cancel := context.WithCancel(ctx)
	out := &informer{inf: inf, reg: reg, cancel: cancel}
	out.wg.Go(func() { inf.RunWithContext(ictx) })
	return out, nil
}

func upsert(h snapsync.InformHandler, o any) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		h.Upsert(u)
	}
}

type informer struct {
	inf    cache.SharedIndexInformer
	reg    cache.ResourceEventHandlerRegistration
	cancel context.CancelFunc
	wg     gosync.WaitGroup
}

func (i *informer) HasSynced() bool { return i.reg.HasSynced() }

func (i *informer) Get(namespace, name string) (*unstructured.Unstructured, bool) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	o, ok, err := i.inf.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil, false
	}
	u, ok := o.(*unstructured.Unstructured)
	return u, ok
}

func (i *informer) Stop() {
	i.cancel()
	i.wg.Wait()
}
