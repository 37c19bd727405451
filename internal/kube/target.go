package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	gosync "sync"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/restore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

var _ restore.Target = (*Target)(nil)

// RestoreLeaseDuration is how long the restore mark stays held without a
// renewal: a restore that dies blocks watchers' commits at most this long.
const RestoreLeaseDuration = 30 * time.Second

// RestoreRevisionAnnotation names, on the restore mark, the revision the
// restore applies.
const RestoreRevisionAnnotation = "kubesnap.io/revision"

// Target is the cluster as a restore writes to it: server-side apply under
// restore.FieldManager, deletes, waits for CustomResourceDefinitions, and
// the restore mark. It implements restore.Target; Cluster.Target builds it.
type Target struct {
	// Rules are the user's normalization rules: a forced apply leaves the
	// fields they ignore to the managers that own them, so a restore never
	// clears them.
	Rules canonical.Rules
	// Log hears what Hold cannot return: a restore mark it failed to renew
	// or to remove. Nil discards.
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

// Apply server-side applies obj, of type t, under restore.FieldManager.
// The object's own apiVersion is used when it is of t's group, so a file
// written in another served version is converted by the server. force
// takes over fields other managers own; dryRun stores nothing. A refusal
// is one line saying why and what to do; an immutable field that differs
// wraps restore.ErrImmutable. The error does not name obj: callers do.
func (tg *Target) Apply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured, force, dryRun bool) error {
	_, err := tg.apply(ctx, t, obj, force, dryRun)
	return err
}

// DryRun returns what the server would store if obj, of type t, were
// applied with force; nothing is stored. Its refusals are Apply's.
func (tg *Target) DryRun(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return tg.apply(ctx, t, obj, true, true)
}

func (tg *Target) apply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, error) {
	ns, err := namespaceOf(t, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: restore.FieldManager, Force: force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	r := tg.resource(t, ns, obj.GetAPIVersion())
	if force && !dryRun {
		if err := takeOver(ctx, r, obj, tg.Rules); err != nil {
			return nil, tg.refusal(t, ns, err)
		}
	}
	out, err := r.Apply(ctx, obj.GetName(), obj, opts)
	if err != nil {
		return nil, tg.refusal(t, ns, err)
	}
	return out, nil
}

// Delete deletes one object with background propagation (the garbage
// collector removes its dependents after it) and returns once the server
// accepted. An absent object is not an error; dryRun deletes nothing.
func (tg *Target) Delete(ctx context.Context, t canonical.Type, namespace, name string, dryRun bool) error {
	ns, err := namespaceOf(t, namespace)
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	err = tg.resource(t, ns, "").Delete(ctx, name, opts)
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return tg.refusal(t, ns, err)
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

// refusal says in one line why the server refused a write, and what to
// do about it.
func (tg *Target) refusal(t canonical.Type, namespace string, err error) error {
	msg := firstLine(err.Error())
	switch {
	case isImmutable(err):
		// restore adds the remedy (--recreate), which it owns.
		return fmt.Errorf("%w: %s", restore.ErrImmutable, msg)
	case apierrors.IsConflict(err) && len(conflicts(err)) > 0:
		return fmt.Errorf("fields owned by other managers: %s (--force takes them over)", strings.Join(conflicts(err), "; "))
	case strings.Contains(msg, "does not support dry run"):
		return fmt.Errorf("an admission webhook cannot be dry-run: %s (it does not declare sideEffects None or NoneOnDryRun)", msg)
	case strings.Contains(msg, "failed calling webhook"):
		return fmt.Errorf("an admission webhook failed: %s (check that the webhook's service is up, or restore without it)", msg)
	case strings.Contains(msg, "admission webhook") && strings.Contains(msg, "denied"):
		return fmt.Errorf("an admission webhook refused it: %s (fix the object, or the webhook's policy)", msg)
	case strings.Contains(msg, "ValidatingAdmissionPolicy") && strings.Contains(msg, "denied"):
		return fmt.Errorf("an admission policy refused it: %s (fix the object, or the policy)", msg)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return fmt.Errorf("namespace %s is being deleted: wait until it is gone, then restore again", namespace)
	case apierrors.IsNotFound(err) && isNamespaceNotFound(err):
		return fmt.Errorf("namespace %s does not exist: restore (or create) it first", namespace)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: the server does not serve %s in this version: %s (install its CustomResourceDefinition or API first)", restore.ErrNotServed, t.ResourceDir(), msg)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden: %s (a restore needs the rights to get, patch, create and delete %s)", msg, t.ResourceDir())
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return fmt.Errorf("the server rejects the object: %s (fix it in the revision, or transform it with --kustomize)", msg)
	case apierrors.IsConflict(err):
		return fmt.Errorf("conflict: %s (run the restore again)", msg)
	case apierrors.IsInternalError(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err):
		return fmt.Errorf("the server failed: %s (run the restore again)", msg)
	}
	return tg.c.unreachable(err)
}

// immutable matches what the API server's validation says when an update
// changes a field that may be set only at creation: "field is immutable"
// (apimachinery's ValidateImmutableField, a CRD's "self == oldSelf" rule
// by convention), "may not change once set" (a Service's clusterIPs),
// "pod updates may not change fields other than …", "spec is immutable
// after creation" (PVCs), "updates to parameters are forbidden"
// (StorageClasses). Only 422 Invalid responses are read: a webhook's
// refusal is the webhook's.
var immutable = regexp.MustCompile(`(?i)\b(is|are) immutable|may not (be )?change|can ?not be changed|updates to \S+ are forbidden`)

func isImmutable(err error) bool {
	if !apierrors.IsInvalid(err) || strings.Contains(err.Error(), "admission webhook") {
		return false
	}
	if st, ok := statusOf(err); ok && st.Details != nil && len(st.Details.Causes) > 0 {
		for _, c := range st.Details.Causes {
			if immutable.MatchString(c.Message) {
				return true
			}
		}
		return false
	}
	return immutable.MatchString(err.Error())
}

// conflicts lists, per manager, the fields a server-side apply without
// force would have taken from another manager:
// `conflict with "kubectl" using v1: .data.a, .data.b`.
func conflicts(err error) []string {
	st, ok := statusOf(err)
	if !ok || st.Details == nil {
		return nil
	}
	var order []string
	fields := map[string][]string{}
	for _, c := range st.Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		if _, seen := fields[c.Message]; !seen {
			order = append(order, c.Message)
		}
		fields[c.Message] = append(fields[c.Message], c.Field)
	}
	out := make([]string, 0, len(order))
	for _, m := range order {
		out = append(out, m+": "+strings.Join(fields[m], ", "))
	}
	return out
}

func isNamespaceNotFound(err error) bool {
	st, ok := statusOf(err)
	return ok && st.Details != nil && st.Details.Group == "" && st.Details.Kind == "namespaces"
}

func statusOf(err error) (metav1.Status, bool) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return metav1.Status{}, false
	}
	return se.Status(), true
}

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// crdPoll is how often WaitEstablished looks again.
const crdPoll = 200 * time.Millisecond

const crdMissing = "it does not exist"

// WaitEstablished waits until the CustomResourceDefinition name has the
// conditions Established and NamesAccepted, and discovery (what Served
// reads) lists its resource in every served version, for at most timeout.
// On timeout the error names the CRD and says what its conditions say.
func (tg *Target) WaitEstablished(ctx context.Context, name string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	why := "not read yet"
	for {
		ready, w, err := tg.established(wctx, name)
		switch {
		case ready:
			return nil
		case apierrors.IsForbidden(err):
			return fmt.Errorf("wait for customresourcedefinition %s: forbidden: %s (a restore needs the right to get customresourcedefinitions)", name, firstLine(err.Error()))
		case wctx.Err() != nil:
			// The last answer, not the one the deadline cut short.
		case err != nil:
			why = firstLine(err.Error())
		default:
			why = w
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("wait for customresourcedefinition %s: %w", name, context.Cause(ctx))
			}
			if why == crdMissing {
				return fmt.Errorf("customresourcedefinition %s is not established after %s: %s", name, timeout, why)
			}
			return fmt.Errorf("customresourcedefinition %s is not established after %s: %s (see kubectl describe crd %s)", name, timeout, why, name)
		case <-time.After(crdPoll):
		}
	}
}

// established reads the CRD once: whether it is ready, and if not what it
// is waiting for.
func (tg *Target) established(ctx context.Context, name string) (bool, string, error) {
	crd, err := tg.c.dynamic.Resource(crds).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, crdMissing, nil
	}
	if err != nil {
		return false, "", err
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	var est, acc string
	var said []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		status, _ := m["status"].(string)
		switch typ {
		case "Established":
			est = status
		case "NamesAccepted":
			acc = status
		default:
			continue
		}
		s := typ + "=" + status
		reason, _ := m["reason"].(string)
		message, _ := m["message"].(string)
		if reason != "" || message != "" {
			s += " (" + strings.TrimPrefix(reason+": "+message, ": ") + ")"
		}
		said = append(said, s)
	}
	if est != "True" || acc != "True" {
		if len(said) == 0 {
			return false, "no conditions yet", nil
		}
		return false, strings.Join(said, ", "), nil
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var gvs []schema.GroupVersion
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); served {
			name, _ := m["name"].(string)
			gvs = append(gvs, schema.GroupVersion{Group: group, Version: name})
		}
	}
	missing, err := tg.c.undiscovered(ctx, gvs, plural)
	if err != nil {
		return false, "", err
	}
	if missing != "" {
		return false, fmt.Sprintf("established, but discovery does not list %s in %s yet", plural, missing), nil
	}
	return true, "", nil
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

// errMarkHeld is wrapped when another restore holds a fresh restore mark.
var errMarkHeld = errors.New("the restore mark is held")

// Hold takes the restore mark: the Lease kube-system/kubesnap-restore,
// naming holder and, in the annotation RestoreRevisionAnnotation,
// revision. A mark that another holder renewed within its duration makes
// Hold fail, saying who holds it; a stale one (its restore died) is taken
// over. A goroutine renews the mark every third of its duration until
// release, which stops it and deletes the mark unless another holder took
// it over meanwhile. release bounds its own request by a few seconds and
// works after ctx ended, so an interrupted restore still removes its mark;
// what it cannot remove expires after RestoreLeaseDuration.
func (tg *Target) Hold(ctx context.Context, holder, revision string) (release func(), err error) {
	if holder == "" {
		return nil, errors.New("take the restore mark: no holder name")
	}
	m := &mark{
		r:      tg.c.dynamic.Resource(leases).Namespace(RestoreLeaseNamespace),
		holder: holder, revision: revision, duration: tg.leaseDuration, log: tg.Log,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.lease, err = m.take(ctx); err != nil {
		return nil, err
	}
	go m.renew(ctx)
	var once gosync.Once
	return func() {
		once.Do(func() {
			close(m.stop)
			<-m.done
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := m.remove(rctx); err != nil {
				m.log.Warn("could not remove the restore mark; watchers hold their commits until it expires",
					"lease", RestoreLeaseNamespace+"/"+RestoreLeaseName, "expires", m.duration, "err", err)
			}
		})
	}, nil
}

// mark is one restore's hold of the restore mark.
type mark struct {
	r                dynamic.ResourceInterface
	holder, revision string
	duration         time.Duration
	log              *slog.Logger
	stop, done       chan struct{}
	// lease is the mark as last written; only renew changes it, and
	// release reads it after renew ended.
	lease *unstructured.Unstructured
}

// take creates the mark, or takes over one that is stale or this
// holder's own; it fails with errMarkHeld when another holder's mark is
// fresh. A takeover is an update at the resourceVersion read, so of two
// restores taking over one stale mark, one wins and the other sees it
// held.
func (m *mark) take(ctx context.Context) (*unstructured.Unstructured, error) {
	for range 5 {
		now := time.Now()
		l, err := m.r.Create(ctx, m.stamp(&unstructured.Unstructured{}, now, 0), metav1.CreateOptions{FieldManager: restore.FieldManager})
		if err == nil {
			return l, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, markError("take", err)
		}
		old, err := m.r.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // released in between
		}
		if err != nil {
			return nil, markError("read", err)
		}
		// A mark without a valid renewTime (err) counts as expired.
		if h, fresh, err := leaseHeld(old, now); err == nil && fresh && h != m.holder {
			return nil, m.heldError(old, h, now)
		}
		transitions, _, _ := unstructured.NestedInt64(old.Object, "spec", "leaseTransitions")
		l, err = m.r.Update(ctx, m.stamp(old, now, transitions+1), metav1.UpdateOptions{FieldManager: restore.FieldManager})
		if err == nil {
			return l, nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return nil, markError("take over", err)
		}
	}
	return nil, fmt.Errorf("take the restore mark %s/%s: it kept changing under us: run the restore again", RestoreLeaseNamespace, RestoreLeaseName)
}

// stamp writes this holder's claim into l: a fresh acquire and renew
// time, in the microsecond form Leases use.
func (m *mark) stamp(l *unstructured.Unstructured, now time.Time, transitions int64) *unstructured.Unstructured {
	at := now.UTC().Format(metav1.RFC3339Micro)
	secs := max(int64(m.duration/time.Second), 1)
	l.SetAPIVersion("coordination.k8s.io/v1")
	l.SetKind("Lease")
	l.SetNamespace(RestoreLeaseNamespace)
	l.SetName(RestoreLeaseName)
	ann := l.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[RestoreRevisionAnnotation] = m.revision
	l.SetAnnotations(ann)
	spec, _, _ := unstructured.NestedMap(l.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	spec["holderIdentity"] = m.holder
	spec["leaseDurationSeconds"] = secs
	spec["acquireTime"] = at
	spec["renewTime"] = at
	spec["leaseTransitions"] = transitions
	l.Object["spec"] = spec
	return l
}

func (m *mark) heldError(l *unstructured.Unstructured, holder string, now time.Time) error {
	renew, _, _ := unstructured.NestedString(l.Object, "spec", "renewTime")
	secs, _, _ := unstructured.NestedInt64(l.Object, "spec", "leaseDurationSeconds")
	ago := "recently"
	if at, err := time.Parse(time.RFC3339Nano, renew); err == nil {
		ago = now.Sub(at).Round(time.Second).String() + " ago"
	}
	rev := ""
	if r := l.GetAnnotations()[RestoreRevisionAnnotation]; r != "" {
		rev = " restoring " + r
	}
	return fmt.Errorf("%w by %s%s (renewed %s): wait until that restore ends; if it died, its mark expires %ds after its last renewal, or delete it: kubectl -n %s delete lease %s",
		errMarkHeld, holder, rev, ago, secs, RestoreLeaseNamespace, RestoreLeaseName)
}

func markError(verb string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s the restore mark %s/%s: forbidden: %s (a restore needs the rights to create, get, update and delete leases in %s)",
			verb, RestoreLeaseNamespace, RestoreLeaseName, firstLine(err.Error()), RestoreLeaseNamespace)
	}
	return fmt.Errorf("%s the restore mark %s/%s: %w", verb, RestoreLeaseNamespace, RestoreLeaseName, err)
}

// renew renews the mark every third of its duration until release or ctx
// ends. When another restore has taken the mark over (this one failed to
// renew for a whole duration), it stops: the mark is theirs.
func (m *mark) renew(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(max(m.duration/3, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.stop:
			return
		case <-tick.C:
		}
		l := m.lease.DeepCopy()
		if err := unstructured.SetNestedField(l.Object, time.Now().UTC().Format(metav1.RFC3339Micro), "spec", "renewTime"); err != nil {
			m.log.Warn("could not renew the restore mark", "err", err)
			return
		}
		out, err := m.r.Update(ctx, l, metav1.UpdateOptions{FieldManager: restore.FieldManager})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// Changed or deleted by someone else: claim it again, unless
			// another restore holds it now.
			out, err = m.take(ctx)
		}
		switch {
		case err == nil:
			m.lease = out
		case errors.Is(err, errMarkHeld):
			m.log.Warn("another restore took the restore mark over; this restore no longer holds it", "err", err)
			return
		case ctx.Err() == nil:
			m.log.Warn("could not renew the restore mark; trying again", "every", m.duration/3, "err", err)
		}
	}
}

// remove deletes the mark if it is still this hold's: same holder, same
// acquireTime, and unchanged since it was read.
func (m *mark) remove(ctx context.Context) error {
	l, err := m.r.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	holder, _, _ := unstructured.NestedString(l.Object, "spec", "holderIdentity")
	acquired, _, _ := unstructured.NestedString(l.Object, "spec", "acquireTime")
	ours, _, _ := unstructured.NestedString(m.lease.Object, "spec", "acquireTime")
	if holder != m.holder || !sameTime(acquired, ours) {
		return nil // taken over: another restore's mark now
	}
	uid, rv := l.GetUID(), l.GetResourceVersion()
	err = m.r.Delete(ctx, RestoreLeaseName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // a conflict: written since it was read, by its new holder
	}
	return err
}

// keepIgnored appends to kept, for every manager but kubesnap that owns
// some of the ignored fields, an entry owning just those: its ownership
// is what manager rules read, and the next snapshot must still see it.
func keepIgnored(entries []metav1.ManagedFieldsEntry, ignored *fieldpath.Set, kept []metav1.ManagedFieldsEntry) ([]metav1.ManagedFieldsEntry, error) {
	for _, e := range entries {
		if e.Subresource != "" || e.FieldsV1 == nil || e.Manager == restore.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			return nil, fmt.Errorf("read the fields %s owns: %w", e.Manager, err)
		}
		mine := s.Intersection(ignored)
		if mine.Empty() {
			continue
		}
		raw, err := mine.ToJSON()
		if err != nil {
			return nil, err
		}
		e.FieldsV1 = metav1.NewFieldsV1(string(raw))
		kept = append(kept, e)
	}
	return kept, nil
}

func sameTime(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.Equal(tb)
}

// takeOver makes FieldManager the one owner of every field other managers
// set on the live object (as Flux's ssa does before a forced apply), so
// that the apply that follows removes what the revision does not hold: a
// label someone added, a key patched in. Entries of subresources (status,
// scale) stay, and so do the fields the rules that select the live object
// or obj (what is applied) remove (their managers keep them, and the apply
// leaves them). Nothing happens for an absent object, or one kubesnap alone
// manages; the patch checks the resourceVersion it read.
func takeOver(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured, rules canonical.Rules) error {
	live, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept []metav1.ManagedFieldsEntry
	owned := &fieldpath.Set{}
	others := false
	for _, e := range live.GetManagedFields() {
		if e.Subresource != "" {
			kept = append(kept, e)
			continue
		}
		if e.Manager != restore.FieldManager || e.Operation != metav1.ManagedFieldsOperationApply {
			others = true
		}
		if e.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			return fmt.Errorf("read the fields %s owns: %w", e.Manager, err)
		}
		owned = owned.Union(s)
	}
	ignored := rules.Matching(live, obj).Ignored(live, owned)
	if !others && ignored.Empty() {
		return nil
	}
	if !ignored.Empty() {
		owned = owned.Difference(ignored)
		if kept, err = keepIgnored(live.GetManagedFields(), ignored, kept); err != nil {
			return err
		}
	}
	raw, err := owned.ToJSON()
	if err != nil {
		return err
	}
	now := metav1.Now()
	kept = append(kept, metav1.ManagedFieldsEntry{
		Manager: restore.FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		APIVersion: live.GetAPIVersion(), Time: &now,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw)),
	})
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": kept},
	})
	if err != nil {
		return err
	}
	_, err = r.Patch(ctx, obj.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{})
	return err
}
