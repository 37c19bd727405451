package kube

import (
	"context"
	"fmt"
	"net/url"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
)

var _ snapsync.Source = (*Cluster)(nil)

// PageSize is how many objects one LIST page asks for.
const PageSize = 500

// Cluster reads one cluster.
type Cluster struct {
	// ExactTimeout bounds the first page of a LIST at an exact
	// resourceVersion before falling back to a fresh one: a server asked
	// for a version it has not seen yet answers only after client-go's
	// retries run out. The pages after the first are not bounded by it.
	ExactTimeout time.Duration

	config    *rest.Config
	name      string
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
	leases    coordinationv1client.LeasesGetter
	// restoreLease is what RestoreHeld last saw of the restore lease.
	restoreLease *leaseObserver
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
	co, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("lease client for %s: %w", cfg.Host, err)
	}
	return &Cluster{
		ExactTimeout: 10 * time.Second, config: cfg, name: name, discovery: dc, dynamic: dyn,
		leases: co, restoreLease: newLeaseObserver(time.Now),
	}, nil
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
