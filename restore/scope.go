package restore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ReadScope reads the scope the revision's snapshot recorded in its
// coverage report (under its current name, else its old one). A revision
// without a report, or with one written before the scope was recorded,
// gives a Scope that is not Recorded: a restore then prunes nothing.
func ReadScope(ctx context.Context, rev Revision) (canonical.Scope, error) {
	files, err := rev.Files(ctx)
	if err != nil {
		return canonical.Scope{}, err
	}
	for _, p := range []string{canonical.CoveragePath, canonical.LegacyCoveragePath} {
		if _, ok := files[p]; !ok {
			continue
		}
		data, err := rev.Read(ctx, p)
		if err != nil {
			return canonical.Scope{}, err
		}
		s, err := canonical.ParseCoverage(data)
		if err != nil {
			return canonical.Scope{}, fmt.Errorf("%s: %w; fix or remove the file", p, err)
		}
		return s, nil
	}
	return canonical.Scope{}, nil
}

// ErrNoScope refuses --prune of a revision that does not say what its
// snapshot captured: every live object outside it would look deleted.
var ErrNoScope = fmt.Errorf("--prune needs the scope the snapshot was taken with, and this revision does not record it (no %s, or one written by an older kubesnap): take a snapshot with this version, or restore without --prune", canonical.CoveragePath)

// kubesnapNamespace is where kubesnap's watcher, its Leases and its
// digest key live by default (deploy/).
const kubesnapNamespace = "kubesnap-system"

// protectedNamespaces hold what the control plane and kubesnap run on:
// nothing in them is pruned, nor are the namespaces themselves.
var protectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "default", kubesnapNamespace}

// neverPruned says why a live object is never pruned, whatever the
// revision says: the control plane bootstraps or reconciles it (deleting
// it is undone at best, breaks the cluster at worst), or it is kubesnap's
// own. It reads the live object, which only the cluster writes.
func neverPruned(t canonical.Type, obj *unstructured.Unstructured) (string, bool) {
	id := t.ID(obj.GetNamespace(), obj.GetName())
	dir := id.ResourceDir()
	switch {
	case dir == "namespaces" && slices.Contains(protectedNamespaces, id.Name):
		return "never pruned: a namespace the control plane or kubesnap runs in", true
	case id.Namespace != "" && slices.Contains(protectedNamespaces, id.Namespace):
		return "never pruned: in namespace " + id.Namespace, true
	case obj.GetAnnotations()["rbac.authorization.kubernetes.io/autoupdate"] == "true":
		return "never pruned: the API server reconciles it (rbac.authorization.kubernetes.io/autoupdate)", true
	case hasKey(obj.GetLabels(), "kubernetes.io/bootstrapping"):
		return "never pruned: bootstrapped by the control plane (kubernetes.io/bootstrapping)", true
	case t.Group == "flowcontrol.apiserver.k8s.io" && hasKey(obj.GetAnnotations(), "apf.kubernetes.io/autoupdate-spec"):
		return "never pruned: the API server maintains it (apf.kubernetes.io/autoupdate-spec)", true
	case dir == "services" && id.Namespace == "default" && id.Name == "kubernetes":
		return "never pruned: each API server reconciles it", true
	case dir == "configmaps" && id.Name == "kube-root-ca.crt":
		return "never pruned: the API server publishes it in every namespace", true
	case dir == "serviceaccounts" && id.Name == "default":
		return "never pruned: every namespace's default ServiceAccount", true
	case dir == "servicecidrs.networking.k8s.io" && id.Name == "kubernetes":
		return "never pruned: the API server's own Service CIDR", true
	case dir == "secrets" && id.Name == "kubesnap-digest-key":
		return "never pruned: kubesnap's digest key", true
	case dir == "leases.coordination.k8s.io" && strings.HasPrefix(id.Name, "kubesnap"):
		return "never pruned: held by kubesnap", true
	}
	return "", false
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
