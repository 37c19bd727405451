package sync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
)

func change(op Op, group, resource, ns, name, manager string) Change {
	id := canonical.ID{Group: group, Resource: resource, Namespace: ns, Name: name}
	return Change{Op: op, Path: canonical.PathOf(id), ID: id, Manager: manager}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name    string
		changes []Change
		want    string
	}{
		{"one change in one namespace names the object and who changed it",
			[]Change{change(Modified, "apps", "deployments", "shop", "web", "kubectl-client-side-apply")},
			"Update 1 object in shop: deployments.apps/web (kubectl-client-side-apply)"},
		{"only additions say Add",
			[]Change{change(Added, "", "configmaps", "shop", "a", ""), change(Added, "", "services", "shop", "b", "")},
			"Add 2 objects in shop: configmaps/a, services/b"},
		{"cluster-scoped objects are said to be in the cluster scope",
			[]Change{change(Deleted, "rbac.authorization.k8s.io", "clusterroles", "", "x", "")},
			"Delete 1 object in the cluster scope: clusterroles.rbac.authorization.k8s.io/x"},
		{"many objects are counted, not listed",
			[]Change{change(Added, "", "configmaps", "a", "1", ""), change(Modified, "", "configmaps", "b", "2", ""), change(Deleted, "", "configmaps", "c", "3", ""), change(Added, "", "namespaces", "", "d", "")},
			"Update 4 objects in 3 namespaces and the cluster scope"},
		{"a coverage-only change says so",
			[]Change{{Op: Modified, Path: CoveragePath}},
			"Update coverage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subject(tt.changes); got != tt.want {
				t.Errorf("subject = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessageBodyAndTrailers(t *testing.T) {
	changes := []Change{
		change(Added, "", "configmaps", "shop", "a", "kubectl"),
		change(Modified, "apps", "deployments", "shop", "web", ""),
		change(Deleted, "", "namespaces", "", "old", ""),
	}
	got := Message(changes, Trailers{Cluster: "prod", ServerVersion: "v1.37.2", ResourceVersion: "42", Objects: 7, FreshTypes: []string{"widgets.example.com"}})
	want := `Update 3 objects in shop and the cluster scope: configmaps/a (kubectl), deployments.apps/web, namespaces/old

cluster: 1 deleted
shop: 1 added, 1 modified

A namespaces/shop/configmaps/a.yaml (kubectl)
M namespaces/shop/deployments.apps/web.yaml
D cluster/namespaces/old.yaml

Kubesnap-Cluster: prod
Kubesnap-Server-Version: v1.37.2
Kubesnap-Resource-Version: 42
Kubesnap-Objects: 7
Kubesnap-Fresh-Lists: widgets.example.com
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Message (-want +got):\n%s", diff)
	}
}

func TestMessageBoundsItsBody(t *testing.T) {
	var changes []Change
	for i := range maxBodyLines + 10 {
		changes = append(changes, change(Added, "", "configmaps", "a", strings.Repeat("x", i+1), ""))
	}
	msg := Message(changes, Trailers{})
	if !strings.Contains(msg, "… and 10 more\n") {
		t.Error("a message for many changes does not say how many it left out")
	}
	if n := strings.Count(msg, "\nA "); n != maxBodyLines {
		t.Errorf("%d file lines, want %d", n, maxBodyLines)
	}
}

func TestTrailersLeaveOutWhatIsNotKnown(t *testing.T) {
	tests := []struct {
		name string
		tr   Trailers
		want string
	}{
		{"only the object count is always there", Trailers{}, "Kubesnap-Objects: 0\n"},
		{"every fact set is a line, in a fixed order",
			Trailers{Cluster: "prod", ServerVersion: "v1.37.2", ResourceVersion: "42", Objects: 7, FreshTypes: []string{"a", "b.x"}},
			"Kubesnap-Cluster: prod\nKubesnap-Server-Version: v1.37.2\nKubesnap-Resource-Version: 42\nKubesnap-Objects: 7\nKubesnap-Fresh-Lists: a, b.x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.tr.String()); diff != "" {
				t.Errorf("Trailers.String (-want +got):\n%s", diff)
			}
			if msg := Message(nil, tt.tr); !strings.HasSuffix(msg, "\n\n"+tt.want) {
				t.Errorf("Message does not end with the trailers as their own paragraph:\n%s", msg)
			}
		})
	}
}
