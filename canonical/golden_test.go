package canonical

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.* from the code")

// resources maps the kinds in testdata to their resource, as discovery
// would.
var resources = map[string]Type{
	"ClusterRole":              {Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
	"ConfigMap":                {Resource: "configmaps", Namespaced: true},
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
	"Widget":                   {Group: "example.com", Resource: "widgets", Namespaced: true},
	"Deployment":               {Group: "apps", Resource: "deployments", Namespaced: true},
	"Job":                      {Group: "batch", Resource: "jobs", Namespaced: true},
	"Namespace":                {Resource: "namespaces"},
	"Pod":                      {Resource: "pods", Namespaced: true},
	"PersistentVolume":         {Resource: "persistentvolumes"},
	"PersistentVolumeClaim":    {Resource: "persistentvolumeclaims", Namespaced: true},
	"Secret":                   {Resource: "secrets", Namespaced: true},
	"Service":                  {Resource: "services", Namespaced: true},
	"ServiceAccount":           {Resource: "serviceaccounts", Namespaced: true},
}

// TestGolden turns each testdata/<case>/live.yaml (an object as the API
// server returns it) into its canonical YAML and path, and compares them
// with want.yaml and want.path; go test ./canonical -update rewrites them.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/live.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, live := range dirs {
		dir := filepath.Dir(live)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(live)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			var gotYAML []byte
			var gotPath string
			if reason, skip := SkipObject(obj); skip {
				gotPath = "skipped: " + reason + "\n"
			} else {
				typ, ok := resources[obj.GetKind()]
				if !ok {
					t.Fatalf("add %s to resources", obj.GetKind())
				}
				Normalize(obj, Facts{PersistentVolumesCaptured: true})
				if gotYAML, err = Marshal(obj); err != nil {
					t.Fatal(err)
				}
				gotPath = PathOf(typ.ID(obj.GetNamespace(), obj.GetName())) + "\n"
			}
			compareGolden(t, filepath.Join(dir, "want.yaml"), gotYAML)
			compareGolden(t, filepath.Join(dir, "want.path"), []byte(gotPath))
		})
	}
}

func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			_ = os.Remove(file)
			return
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil && (!os.IsNotExist(err) || len(got) > 0) {
		t.Fatalf("%v (run go test ./canonical -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
	}
}
