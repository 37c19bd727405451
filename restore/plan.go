package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what a restore does to one object.
type Action string

// Actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	// Differs: the live object differs from the revision and is left
	// as it is; --force updates it.
	Differs Action = "differs"
	Prune   Action = "prune"
	Skip    Action = "skip"
	// Keep: a live object the revision does not hold, in the prune
	// scope, that is never pruned (Reason says why). Listed with --prune.
	Keep Action = "keep"
)

// Item is one object of a plan.
type Item struct {
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Phase     Phase  `json:"phase"`
	Action    Action `json:"action"`
	// Reason says why an object is skipped, differs or was not
	// validated.
	Reason string `json:"reason,omitempty"`

	t         canonical.Type
	obj       *unstructured.Unstructured // what is applied; nil for Prune
	canonical bool                       // the file is in canonical form
	// rules are the user's rules that select the object live or in the
	// revision: both sides are compared without what they remove.
	rules canonical.Rules
}

// facts are how the item's two sides are normalized for comparing.
func (it *Item) facts() canonical.Facts {
	f := keep
	f.Rules = it.rules
	return f
}

// ID is the object the item is about.
func (it Item) ID() canonical.ID {
	return canonical.ID{Group: it.Group, Resource: it.Resource, Namespace: it.Namespace, Name: it.Name}
}

// Plan is what a restore will do, object by object, in phase order.
type Plan struct {
	Items []Item `json:"objects"`
	// ServerVersion is the target's; RevisionServerVersion the one the
	// revision was taken from (its Kubesnap-Server-Version trailer).
	ServerVersion         string `json:"serverVersion"`
	RevisionServerVersion string `json:"revisionServerVersion,omitempty"`
	// Warnings are about the restore as a whole: another minor version,
	// Secrets that cannot be restored, what cloning does not rewrite.
	Warnings []string `json:"warnings,omitempty"`
	// Unpruned counts live objects in scope that the revision does not
	// hold and that stay (no --prune).
	Unpruned int `json:"unpruned"`
	// PruneScope says what --prune may delete in: the scope the
	// snapshot recorded, intersected with the restore's filters.
	PruneScope string `json:"pruneScope"`
}

// Counts counts the items per action.
func (p *Plan) Counts() map[Action]int {
	out := map[Action]int{}
	for _, it := range p.Items {
		out[it.Action]++
	}
	return out
}

// Options shape a plan.
type Options struct {
	Filter canonical.Filter
	// Force updates live objects that differ; Prune deletes live objects
	// in scope that the revision does not hold.
	Force, Prune bool
	// Scope is what the revision's snapshot captured (ReadScope): only
	// live objects inside it, and inside Filter, are pruned. Prune
	// refuses a revision whose scope is not Recorded.
	Scope canonical.Scope
	// PruneCRDs lets Prune delete CustomResourceDefinitions, and with
	// each every custom resource of its type (listed in the plan).
	PruneCRDs bool
	// NamespaceMap moves objects from one namespace to another (OLD →
	// NEW), Namespaces and binding subjects included.
	NamespaceMap map[string]string
	// RevisionServerVersion is the revision's Kubesnap-Server-Version.
	RevisionServerVersion string
	// Validate dry-runs every create as well (--dry-run); updates are
	// always dry-run, to tell real differences from a file's form.
	Validate bool
	// Workers bounds the dry-runs in flight; 0 means 8.
	Workers int
	// Rules are the user's normalization rules: the fields they ignore
	// are neither sent nor compared, so a restore leaves them as they are
	// live (the Target must leave them to their managers on a forced
	// apply, too).
	Rules canonical.Rules
}

// MakePlan compares the revision's objects with the target and decides,
// per object, what a restore does. It changes nothing. Objects of a type
// the target does not serve (and no CRD of the revision defines) are
// skipped with the reason, as are Secrets whose values git does not hold.
func MakePlan(ctx context.Context, target Target, objs []Object, opts Options) (*Plan, error) {
	if len(objs) == 0 {
		return nil, ErrNoObjects
	}
	if opts.Prune && !opts.Scope.Recorded {
		return nil, ErrNoScope
	}
	types, version, err := target.Served(ctx)
	if err != nil {
		return nil, err
	}
	plan := &Plan{ServerVersion: version, RevisionServerVersion: opts.RevisionServerVersion}
	if w := versionWarning(opts.RevisionServerVersion, version); w != "" {
		plan.Warnings = append(plan.Warnings, w)
	}
	objs, notes := mapNamespaces(objs, opts.NamespaceMap)
	plan.Warnings = append(plan.Warnings, notes...)

	served := map[string]canonical.Type{}
	for _, t := range types {
		served[t.ResourceDir()] = t
	}
	pending := map[string]canonical.Type{} // defined by a CRD of the revision
	for _, o := range objs {
		if o.ID.ResourceDir() == canonical.CRDDir {
			if t, ok := crdType(o.Obj); ok && served[t.ResourceDir()].Resource == "" {
				pending[t.ResourceDir()] = t
			}
		}
	}

	desired := map[string]*Item{}
	var bad []string
	var redacted, sealed []string
	for _, o := range objs {
		it := Item{Group: o.ID.Group, Resource: o.ID.Resource, Namespace: o.ID.Namespace, Name: o.ID.Name, Path: o.Path, Phase: PhaseOf(o.ID), obj: applyable(o.Obj), canonical: o.Canonical}
		opts.Rules.Apply(it.obj) // a revision written before a rule may hold its fields
		dir := o.ID.ResourceDir()
		t, ok := served[dir]
		if !ok {
			t, ok = pending[dir]
		}
		switch {
		case !ok:
			it.Action, it.Reason = Skip, fmt.Sprintf("the target does not serve %s (%s)", dir, o.Obj.GetAPIVersion())
		case t.Kind != "" && t.Kind != o.Obj.GetKind():
			bad = append(bad, fmt.Sprintf("%s: holds a %s, but %s are %s; fix or remove the file", o.Path, o.Obj.GetKind(), dir, t.Kind))
			continue
		case o.Sealed:
			it.Action, it.Reason = Skip, "encrypted in git: give its key with --age-identity FILE (or SOPS_AGE_KEY_FILE) to restore it"
			sealed = append(sealed, it.ID().String())
		case o.Obj.GetAnnotations()[canonical.RedactedAnnotation] == "true" || canonical.HoldsRedacted(o.Obj):
			// By its values too: a file whose annotation was removed
			// would write markers over the live values.
			it.Action, it.Reason = Skip, "its values are redacted in git: restore it from where it came from"
			redacted = append(redacted, it.ID().String())
		default:
			if why, skip := canonical.SkipObject(o.Obj); skip {
				// A revision written before the rule may hold it.
				it.Action, it.Reason = Skip, "not restored: "+why
			}
		}
		it.t = t
		plan.Items = append(plan.Items, it)
	}
	if len(bad) > 0 {
		return nil, &BadFilesError{Lines: bad}
	}
	if err := unservedVersions(ctx, target, plan, pending); err != nil {
		return nil, err
	}
	for i := range plan.Items {
		if plan.Items[i].Action == "" {
			desired[plan.Items[i].Path] = &plan.Items[i]
		}
	}
	if len(redacted) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s skipped, git holds no values for them (redacted): %s", count(len(redacted), "object is", "objects are"), joinFirst(redacted, 10)))
	}
	if len(sealed) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s skipped, encrypted in git and no key given (--age-identity or SOPS_AGE_KEY_FILE): %s", count(len(sealed), "object is", "objects are"), joinFirst(sealed, 10)))
	}
	// plan.Items does not grow until settle is done: the pointers in
	// desired stay valid.

	held := map[string]bool{} // every object the revision holds, in any form
	for _, it := range plan.Items {
		held[it.Path] = true
	}
	enc := new(canonical.Encoder) // one render cache for every live object
	live, prunes, err := compareLive(ctx, enc, target, types, desired, held, opts, plan)
	if err != nil {
		return nil, err
	}
	if err := settle(ctx, enc, target, desired, live, opts); err != nil {
		return nil, err
	}
	plan.Items = append(plan.Items, prunes...)
	sort.SliceStable(plan.Items, func(i, j int) bool {
		a, b := plan.Items[i], plan.Items[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		return a.Path < b.Path
	})
	return plan, nil
}

// ErrNoObjects stops a restore of a revision with nothing in scope: with
// --prune it would delete everything.
var ErrNoObjects = errors.New("the revision holds no objects in scope: check --rev, --path and the filters")

// count says "1 object is" or "3 objects are".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinFirst joins the first n items and says how many more there are.
func joinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
