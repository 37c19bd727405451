package canonical

import (
	"strings"
	"testing"
)

func TestPathOf(t *testing.T) {
	tests := []struct {
		name string
		id   ID
		want string
	}{
		{"a core namespaced object keeps its plain name", ID{Resource: "configmaps", Namespace: "shop", Name: "web-config"}, "namespaces/shop/configmaps/web-config.yaml"},
		{"a grouped type is written as resource.group", ID{Group: "apps", Resource: "deployments", Namespace: "shop", Name: "web"}, "namespaces/shop/deployments.apps/web.yaml"},
		{"a cluster-scoped object lives under cluster", ID{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "admin"}, "cluster/clusterroles.rbac.authorization.k8s.io/admin.yaml"},
		{"colons and upper case are escaped", ID{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "system:Admin"}, "cluster/clusterroles.rbac.authorization.k8s.io/system%3A%41dmin.yaml"},
		{"the escape character itself is escaped", ID{Resource: "configmaps", Namespace: "a", Name: "100%"}, "namespaces/a/configmaps/100%25.yaml"},
		{"dot segments are escaped", ID{Resource: "configmaps", Namespace: "a", Name: ".."}, "namespaces/a/configmaps/%2E%2E.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PathOf(tt.id); got != tt.want {
				t.Errorf("PathOf(%+v) = %q, want %q", tt.id, got, tt.want)
			}
			back, err := ParsePath(tt.want)
			if err != nil || back != tt.id {
				t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tt.want, back, err, tt.id)
			}
		})
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, p := range []string{
		"README.md",
		"cluster/clusterroles/admin.yml",
		"namespaces/shop/configmaps/a/b.yaml",
		"cluster/clusterroles/system%3aadmin.yaml", // lower-case escape
		"cluster/clusterroles/%61dmin.yaml",        // escaped plain byte
		"cluster/clusterroles/admin%3.yaml",        // truncated escape
		"namespaces//configmaps/a.yaml",
		"cluster/clusterroles/.yaml",
	} {
		if id, err := ParsePath(p); err == nil {
			t.Errorf("ParsePath(%q) = %+v, want an error", p, id)
		}
	}
}

// caseSafe reports whether p holds only lower-case plain bytes, '/' and
// upper-case escapes: then no other path differs from it only in case.
func caseSafe(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case plain(c) || c == '/':
		case c == '%' && i+2 < len(p) && strings.IndexByte(hexDigits, p[i+1]) >= 0 && strings.IndexByte(hexDigits, p[i+2]) >= 0:
			i += 2
		default:
			return false
		}
	}
	return true
}

func FuzzPathRoundTrip(f *testing.F) {
	f.Add("", "configmaps", "shop", "web")
	f.Add("rbac.authorization.k8s.io", "clusterroles", "", "system:Controller:X")
	f.Add("example.com", "wid.gets", "ns", "%41")
	f.Add("", "a", ".", "..")
	f.Fuzz(func(t *testing.T, group, resource, namespace, name string) {
		if resource == "" || name == "" {
			return
		}
		id := ID{Group: group, Resource: resource, Namespace: namespace, Name: name}
		p := PathOf(id)
		back, err := ParsePath(p)
		if err != nil {
			t.Fatalf("ParsePath(PathOf(%+v)) = %v", id, err)
		}
		if back != id {
			t.Fatalf("ParsePath(PathOf(%+v)) = %+v", id, back)
		}
		if !caseSafe(p) {
			t.Fatalf("PathOf(%+v) = %q is not safe on a case-insensitive file system", id, p)
		}
	})
}
