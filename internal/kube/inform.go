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
	"k8s.io/client-go/tools/cache"
)

var _ snapsync.Informers = (*Cluster)(nil)

// Inform starts a dynamic informer for t. Objects pass through
// opts.Transform before the informer stores them, so the cache holds
// only what sync keeps of each (a *keptObject: a key and a blob id),
// never the live object.
// There is no resync: the handler hears of real changes only.
func (c *Cluster) Inform(ctx context.Context, t canonical.Type, opts snapsync.InformOptions, h snapsync.InformHandler) (snapsync.Informer, error) {
	if opts.Transform == nil {
		return nil, fmt.Errorf("inform %s: no transform", t.ResourceDir())
	}
	ns := metav1.NamespaceAll
	if t.Namespaced {
		ns = opts.Namespace
	}
	inf := cache.NewSharedIndexInformerWithOptions(
		listWatch(c.dynamic, c.resource(t, ns), opts.LabelSelector, opts.Primed),
		&unstructured.Unstructured{},
		cache.SharedIndexInformerOptions{ObjectDescription: t.ResourceDir()},
	)
	// client-go transforms every object once before it queues it (the
	// list's and the watch's alike, RealFIFO.addToItems_locked and
	// addReplaceToItemsLocked) and passes tombstones and resyncs through
	// untransformed; the store and DeletedFinalStateUnknown then hold what
	// the transform returned, keyed through meta.Accessor. The transform
	// still passes through anything already kept, to be idempotent.
	if err := inf.SetTransform(func(o any) (any, error) {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return o, nil
		}
		k := opts.Transform(u)
		if k == nil {
			return nil, fmt.Errorf("inform %s: the transform kept nothing of %s/%s", t.ResourceDir(), u.GetNamespace(), u.GetName())
		}
		return (*keptObject)(k), nil
	}); err != nil {
		return nil, fmt.Errorf("inform %s: %w", t.ResourceDir(), err)
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
			if k, ok := o.(*keptObject); ok {
				h.Delete((*snapsync.Kept)(k))
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
	if k, ok := o.(*keptObject); ok {
		h.Upsert((*snapsync.Kept)(k))
	}
}

// keptObject is what an informer's store holds: sync's Kept, which
// client-go keys (cache.MetaNamespaceKeyFunc) and compares
// (resourceVersion: an update without a new one is a resync) through
// meta.Accessor. It is the Kept itself, so an object costs no more than
// what sync keeps.
type keptObject snapsync.Kept

// GetObjectMeta makes keptObject a metav1.ObjectMetaAccessor. The
// metadata is made on each call rather than kept, to keep objects small.
func (k *keptObject) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name, ResourceVersion: k.ResourceVersion}
}

type informer struct {
	inf    cache.SharedIndexInformer
	reg    cache.ResourceEventHandlerRegistration
	cancel context.CancelFunc
	wg     gosync.WaitGroup
}

func (i *informer) HasSynced() bool { return i.reg.HasSynced() }

func (i *informer) Get(namespace, name string) (*snapsync.Kept, bool) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	o, ok, err := i.inf.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil, false
	}
	k, ok := o.(*keptObject)
	return (*snapsync.Kept)(k), ok
}

func (i *informer) Stop() {
	i.cancel()
	i.wg.Wait()
}
