// Package kube is kubesnap's only client-go code: cluster access from a
// kubeconfig, discovery, and paged lists. It implements the cluster side of
// package sync.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var _ snapsync.Source = (*Cluster)(nil)

// PageSize is how many objects one LIST page asks for.
const PageSize = 500

// Cluster reads one cluster.
type Cluster struct {
	// ExactTimeout bounds a LIST at an exact resourceVersion before
	// falling back to a fresh one: a server asked for a version it has
	// not seen yet answers only after client-go's retries (~40 s).
	ExactTimeout time.Duration

	config    *rest.Config
	name      string
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
}

// Connect builds clients from the kubeconfig flags. It does not contact the
// server; the first call that does says whether it is reachable.
func Connect(flags *genericclioptions.ConfigFlags) (*Cluster, error) {
	return ConnectRate(flags, 0, 0)
}

// ConnectRate is Connect with client-side rate limits: qps requests a
// second, bursts of burst; 0 keeps the defaults (200 and 400).
func ConnectRate(flags *genericclioptions.ConfigFlags, qps float32, burst int) (*Cluster, error) {
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w (check --kubeconfig and --context)", err)
	}
	name := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		name = *flags.Context
	}
	if ctx, ok := raw.Contexts[name]; ok && ctx.Cluster != "" {
		name = ctx.Cluster
	}
	if name == "" {
		name = hostOf(cfg.Host)
	}
	if qps > 0 {
		cfg.QPS, cfg.Burst = qps, max(burst, int(qps))
	}
	return New(cfg, name)
}

// New builds clients for cfg. name identifies the cluster in commits.
func New(cfg *rest.Config, name string) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	// A snapshot sends one request per page per type; client-go's default
	// of 5 QPS would make the client, not the server, the bottleneck.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", cfg.Host, err)
	}
	return &Cluster{ExactTimeout: 10 * time.Second, config: cfg, name: name, discovery: dc, dynamic: dyn}, nil
}

// Name is the cluster's name in the kubeconfig, or its host.
func (c *Cluster) Name() string { return c.name }

// hostOf strips scheme, credentials and path from a server URL.
func hostOf(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}

// unreachable turns a transport error, or credentials the server refuses,
// into one line saying what to check.
func (c *Cluster) unreachable(err error) error {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server at %s refused the credentials (401 Unauthorized): check the user of the context in --kubeconfig (--context, --user): its token or client certificate is wrong or expired", hostOf(c.config.Host))
	case errors.As(err, &opErr) || errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("cannot reach the API server at %s: %w (check --kubeconfig and --context, and that the cluster is up)", hostOf(c.config.Host), err)
	}
	return fmt.Errorf("API server at %s: %w", hostOf(c.config.Host), err)
}

// Check asks the server for its version: an error says, in one line, that
// it cannot be reached or refuses the credentials, and what to check.
// Commands call it before anything else, so that their first message is
// about the server rather than about whatever they asked it first.
func (c *Cluster) Check(ctx context.Context) error {
	_, err := c.discovery.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return c.unreachable(err)
	}
	return nil
}

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
	l, err := c.dynamic.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}).
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
		exact, cancel := context.WithTimeout(ctx, c.ExactTimeout)
		err := c.pages(exact, r, opts.LabelSelector, opts.ResourceVersion, fn)
		cancel()
		if err == nil || ctx.Err() != nil || apierrors.IsForbidden(err) || errors.As(err, new(callbackError)) {
			return false, c.listError(t, err)
		}
		fresh = true
	}
	return fresh, c.listError(t, c.pages(ctx, r, opts.LabelSelector, "", fn))
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

func (c *Cluster) pages(ctx context.Context, r dynamic.ResourceInterface, selector, rv string, fn func(*unstructured.Unstructured) error) error {
	opts := metav1.ListOptions{Limit: PageSize, LabelSelector: selector}
	if rv != "" {
		opts.ResourceVersion = rv
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchExact
	}
	for {
		l, err := r.List(ctx, opts)
		if err != nil {
			return err
		}
		for i := range l.Items {
			if err := fn(&l.Items[i]); err != nil {
				return callbackError{err}
			}
		}
		if l.GetContinue() == "" {
			return nil
		}
		opts = metav1.ListOptions{Limit: PageSize, LabelSelector: selector, Continue: l.GetContinue()}
	}
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
