package sync

import (
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Coverage is the coverage report (canonical.CoveragePath): every discovered type, captured or
// skipped with the reason, and the groups whose discovery failed. It holds
// nothing volatile, so it changes only when what is captured changes.
type Coverage struct {
	Captured     []CapturedType
	Skipped      []SkippedType
	FailedGroups []FailedGroup
	Rules        []string
	// Scope is the filter the capture was taken with: a restore prunes
	// only inside it and the captured types.
	Scope canonical.Filter
}

// CapturedType is one type in the repository.
type CapturedType struct {
	Resource, Version, Kind string
	Objects                 int
}

// SkippedType is one type left out, and why.
type SkippedType struct{ Resource, Reason string }

// The reasons of types whose LIST was refused or failed start so.
const (
	forbiddenReason  = "forbidden: "
	listFailedReason = "list failed: "
)

// unlisted reports whether the type was left out because its LIST was
// refused or failed (rather than by a rule or the filter).
func (t SkippedType) unlisted() bool {
	return strings.HasPrefix(t.Reason, forbiddenReason) || strings.HasPrefix(t.Reason, listFailedReason)
}

// FailedGroup is a group/version whose discovery failed.
type FailedGroup struct{ GroupVersion, Error string }

// objectRules are the default per-object skip rules of canonical.SkipObject,
// written into the coverage file so a reader sees what was left out.
var objectRules = []string{
	"objects being deleted",
	"objects with a controller ownerReference (Pods of ReplicaSets, ReplicaSets of Deployments, Jobs of CronJobs, ControllerRevisions)",
	"mirror pods and completed pods",
	"the kube-root-ca.crt ConfigMap of every namespace",
	"the Service default/kubernetes (each API server reconciles it)",
	"APIServices labelled kube-aggregator.kubernetes.io/automanaged",
	"service account token Secrets made by the token controller",
	"Secret values are redacted",
}

func (c *Coverage) sort() {
	sort.Slice(c.Captured, func(i, j int) bool { return c.Captured[i].Resource < c.Captured[j].Resource })
	sort.Slice(c.Skipped, func(i, j int) bool { return c.Skipped[i].Resource < c.Skipped[j].Resource })
	sort.Slice(c.FailedGroups, func(i, j int) bool { return c.FailedGroups[i].GroupVersion < c.FailedGroups[j].GroupVersion })
}

func (c Coverage) marshal() ([]byte, error) {
	captured := make([]any, 0, len(c.Captured))
	for _, t := range c.Captured {
		captured = append(captured, map[string]any{"resource": t.Resource, "version": t.Version, "kind": t.Kind, "objects": int64(t.Objects)})
	}
	skipped := make([]any, 0, len(c.Skipped))
	for _, t := range c.Skipped {
		skipped = append(skipped, map[string]any{"resource": t.Resource, "reason": t.Reason})
	}
	failed := make([]any, 0, len(c.FailedGroups))
	for _, g := range c.FailedGroups {
		failed = append(failed, map[string]any{"groupVersion": g.GroupVersion, "error": g.Error})
	}
	rules := make([]any, 0, len(c.Rules))
	for _, r := range c.Rules {
		rules = append(rules, r)
	}
	doc := map[string]any{
		"apiVersion":     "kubesnap.io/v1alpha1",
		"kind":           "Coverage",
		"captured":       captured,
		"skipped":        skipped,
		"failedGroups":   failed,
		"skippedObjects": rules,
		"scope":          canonical.ScopeFields(c.Scope),
	}
	return canonical.Marshal(&unstructured.Unstructured{Object: doc})
}
