package kube

import (
	"context"
	"errors"
	gosync "sync"

	snapsync "github.com/kubesnap/kubesnap/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// listWatch is an informer's lists and watches of r with selector. Its
// first list is primed, when a primed list is given: it returns that list
// (already transformed) without asking the server, so the informer only
// watches from the primed resourceVersion. Every later list is a real
// one.
//
// client-go's reflector streams its lists as watches (WatchListClient)
// where the server can; it falls back to a LIST when that watch fails.
// So while the primed list is unused, a watch that asks for the initial
// events fails with errPrimed, and the LIST that follows takes the primed
// list. The reflector tries the streaming watch again for every later
// list: a relist after an expired resourceVersion streams as before.
func listWatch(client dynamic.Interface, r dynamic.ResourceInterface, selector string, primed *snapsync.Primed) cache.ListerWatcher {
	p := &primedOnce{primed: primed}
	list := func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		if l := p.take(); l != nil {
			return l, nil
		}
		o.LabelSelector = selector
		return r.List(ctx, o)
	}
	watchFn := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		if o.SendInitialEvents != nil && *o.SendInitialEvents && p.pending() {
			return nil, errPrimed
		}
		o.LabelSelector = selector
		return r.Watch(ctx, o)
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc:  list,
		WatchFuncWithContext: watchFn,
	}, client)
}

// errPrimed turns the reflector's first, streaming list into a LIST, which
// the primed list answers.
var errPrimed = errors.New("the informer starts from a primed list")

// primedOnce hands its primed list out once.
type primedOnce struct {
	mu     gosync.Mutex
	primed *snapsync.Primed
}

func (p *primedOnce) pending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.primed != nil
}

// take returns the primed list as the reflector reads a LIST, and forgets
// it; nil once taken or when there was none.
func (p *primedOnce) take() *primedList {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.primed == nil {
		return nil
	}
	l := &primedList{Items: make([]runtime.Object, len(p.primed.Items))}
	l.ResourceVersion = p.primed.ResourceVersion
	for i, k := range p.primed.Items {
		l.Items[i] = (*keptObject)(k)
	}
	p.primed = nil
	return l
}

// primedList is a primed list as client-go reads a LIST's answer: its
// resourceVersion (meta.ListAccessor) and Items (meta.ExtractList), here
// kept objects, which the informer's transform passes through.
type primedList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []runtime.Object
}

// DeepCopyObject makes primedList a runtime.Object; the items are shared.
func (l *primedList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = append([]runtime.Object(nil), l.Items...)
	return &c
}

// GetObjectKind and DeepCopyObject make keptObject a runtime.Object, as
// the items of a list must be.
func (k *keptObject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies k (its strings are shared, being immutable).
func (k *keptObject) DeepCopyObject() runtime.Object {
	c := *k
	return &c
}
