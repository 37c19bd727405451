package kube

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ResourceVersion returns the newest resourceVersion, read with a quorum
// LIST of one namespace.
func (c *Cluster) ResourceVersion(ctx context.Context) (string, error) {
	l, err := c.dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).
		List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return "", c.unreachable(err)
	}
	return l.GetResourceVersion(), nil
}

// List pages through the objects of t. When opts.ResourceVersion is set it
// lists exactly at that version; where the server cannot (410 Gone after
// compaction, an aggregated API that does not support it, a continue token
// that expired) it restarts the list at the newest version and reports
// fresh.
func (c *Cluster) List(ctx context.Context, t canonical.Type, opts snapsync.ListOptions, fn func(*unstructured.Unstructured) error) (fresh bool, err error) {
	r := c.resource(t, opts.Namespace)
	if opts.ResourceVersion != "" && t.Aggregated {
		fresh = true // another server: the cluster's versions mean nothing there
	} else if opts.ResourceVersion != "" {
		err := c.pages(ctx, r, opts, opts.ResourceVersion, c.ExactTimeout, fn)
		if err == nil || ctx.Err() != nil || apierrors.IsForbidden(err) || errors.As(err, new(callbackError)) {
			return false, c.listError(t, err)
		}
		fresh = true
	}
	return fresh, c.listError(t, c.pages(ctx, r, opts, "", 0, fn))
}

// resource is the dynamic client of t, in namespace when t is namespaced
// and namespace is set (else across all namespaces).
func (c *Cluster) resource(t canonical.Type, namespace string) dynamic.ResourceInterface {
	ri := c.dynamic.Resource(schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource})
	if t.Namespaced && namespace != "" {
		return ri.Namespace(namespace)
	}
	return ri
}

// callbackError carries an error of List's callback through the pager, so
// that it is not mistaken for the server's.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

func (c *Cluster) listError(t canonical.Type, err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: list %s: %s", snapsync.ErrForbidden, t.ResourceDir(), apierrors.ReasonForError(err))
	}
	if cb := (callbackError{}); errors.As(err, &cb) {
		return cb.err
	}
	return fmt.Errorf("list %s: %w", t.ResourceDir(), err)
}

// pages lists r page by page, at resourceVersion rv when it is set. A
// first > 0 bounds the first page's request alone: that is where a server
// waits for a version it has not seen; the pages after it carry the
// continue token, and a large type's whole list may rightly take minutes
// (a bound on all of it sent 100,000 ConfigMaps to a second, fresh list).
// The list's resourceVersion goes to lo.Listed, when set, before the
// first page's objects go to fn.
//
// The next page is fetched while fn takes the objects of this one (see
// fetchPages): at most two pages wait besides the one being read.
func (c *Cluster) pages(ctx context.Context, r dynamic.ResourceInterface, lo snapsync.ListOptions, rv string, first time.Duration, fn func(*unstructured.Unstructured) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	defer wg.Wait() // after cancel: the fetcher ends with the context
	defer cancel()
	ch := make(chan page, 1)
	wg.Go(func() { fetchPages(ctx, r, lo.LabelSelector, rv, first, ch) })
	for n := 0; ; n++ {
		p, ok := <-ch
		switch {
		case !ok: // the context ended before the last page
			return ctx.Err()
		case p.err != nil:
			return p.err
		}
		if n == 0 && lo.Listed != nil {
			lo.Listed(p.l.GetResourceVersion())
		}
		for i := range p.l.Items {
			if err := fn(&p.l.Items[i]); err != nil {
				return callbackError{err}
			}
		}
		if p.l.GetContinue() == "" {
			return nil
		}
	}
}

// page is one page of a list, or why it could not be read.
type page struct {
	l   *unstructured.UnstructuredList
	err error
}

// fetchPages sends the pages of r's list to ch, the first asked for at rv
// (bounded by first when > 0, see pages), until the last page or a
// failure, which it sends too. It closes ch when ctx ends first.
func fetchPages(ctx context.Context, r dynamic.ResourceInterface, selector, rv string, first time.Duration, ch chan<- page) {
	defer close(ch)
	opts := metav1.ListOptions{Limit: PageSize, LabelSelector: selector}
	if rv != "" {
		opts.ResourceVersion = rv
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchExact
	}
	for {
		l, err := listPage(ctx, r, opts, first)
		first = 0
		select {
		case ch <- page{l: l, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || l.GetContinue() == "" {
			return
		}
		opts = metav1.ListOptions{Limit: PageSize, LabelSelector: selector, Continue: l.GetContinue()}
	}
}

// listPage asks for one page, within timeout when it is > 0.
func listPage(ctx context.Context, r dynamic.ResourceInterface, opts metav1.ListOptions, timeout time.Duration) (*unstructured.UnstructuredList, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return r.List(ctx, opts)
}

// Get reads one live object of t, managedFields included (rules
// --explain). A missing object is an error that says so.
func (c *Cluster) Get(ctx context.Context, t canonical.Type, namespace, name string) (*unstructured.Unstructured, error) {
	obj, err := c.resource(t, namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s: not found", t.ID(namespace, name))
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("%w: get %s: %s", snapsync.ErrForbidden, t.ID(namespace, name), apierrors.ReasonForError(err))
	case err != nil:
		return nil, c.unreachable(fmt.Errorf("get %s: %w", t.ID(namespace, name), err))
	}
	return obj, nil
}
