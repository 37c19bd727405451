package sync

import (
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// primer keeps, while the watcher's first snapshot lists, what each list
// gave in the form the informers keep (Kept), so that the informers start
// from those lists instead of listing and rendering everything again.
// Only complete lists read at a known resourceVersion are kept.
type primer struct {
	mu    gosync.Mutex
	lists map[string]map[string]*Primed // resource dir → namespace → list
}

func newPrimer() *primer { return &primer{lists: map[string]map[string]*Primed{}} }

// put records the complete list of dir in namespace ns ("" for all).
func (p *primer) put(dir, ns string, l *Primed) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lists[dir] == nil {
		p.lists[dir] = map[string]*Primed{}
	}
	p.lists[dir][ns] = l
}

// take returns the list of dir in ns and forgets it: an informer starts
// from it once. It is nil when there is none (or p is nil).
func (p *primer) take(dir, ns string) *Primed {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lists[dir][ns]
	delete(p.lists[dir], ns)
	return l
}

// priming gathers one list's Kept as the collector renders its objects.
// Its methods are called one at a time, from List's callbacks.
type priming struct {
	rv    string
	items []*Kept
}

// listed starts the list over at resourceVersion rv.
func (g *priming) listed(rv string) {
	g.rv, g.items = rv, nil
}

// add keeps what the watcher's transform would keep of obj, read before
// render normalized it: seen is false for an object out of scope or
// skipped by default, else sum and manager are its file's.
func (g *priming) add(k *Kept, seen bool, sum, manager string) {
	if seen {
		k.Sum, k.Manager = sum, intern(manager)
	} else {
		k.Skip = true
	}
	g.items = append(g.items, k)
}

// keptKey is the part of Kept read from obj before render changes it.
func keptKey(t canonical.Type, obj *unstructured.Unstructured) *Kept {
	name, ns := obj.GetName(), intern(obj.GetNamespace())
	return &Kept{Namespace: ns, Name: name, ResourceVersion: obj.GetResourceVersion(), Path: canonical.PathOf(t.ID(ns, name))}
}
