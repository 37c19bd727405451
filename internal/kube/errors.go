package kube

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/restore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

// firstLine is the first line of s, so that an error kubesnap reports
// stays one line whatever the server said.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
