package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var env *testenv.Env

// asMainEnv makes the test binary run kubesnap's main instead of tests.
const asMainEnv = "KUBESNAP_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	// Fault tests run kubesnap as a separate process they can SIGKILL:
	// this test binary, told to be kubesnap.
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	// No configuration file of the user's may reach the tests.
	xdg, err := os.MkdirTemp("", "kubesnap-xdg-")
	if err != nil {
		panic(err)
	}
	if err := os.Setenv("XDG_CONFIG_HOME", xdg); err != nil {
		panic(err)
	}
	code := testenv.Main(m, testenv.Options{ControllerManager: true}, &env)
	_ = os.RemoveAll(xdg)
	os.Exit(code)
}

// kubesnap runs the command line as a user would and returns stdout,
// stderr and the exit code.
func kubesnap(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	// Keep the error line for assertions, as main prints it.
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), exitCode(err, io.Discard)
}

// mustSnapshot runs snapshot against the shared control plane.
func mustSnapshot(t *testing.T, repo string, args ...string) string {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{"snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig}, args...)...)
	if code != 0 {
		t.Fatalf("snapshot exited %d: %s", code, errOut)
	}
	return out
}

// git runs git in repo.
func git(t *testing.T, repo string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// stored reads every object file at HEAD of repo (through git itself, not
// kubesnap's code) and indexes them by "group/Kind/namespace/name"; it
// fails if one object is stored twice.
func stored(t *testing.T, repo string) map[string]*unstructured.Unstructured {
	t.Helper()
	objs := map[string]*unstructured.Unstructured{}
	for _, path := range strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", "HEAD")) {
		if !strings.HasPrefix(path, "cluster/") && !strings.HasPrefix(path, "namespaces/") {
			continue
		}
		data := git(t, repo, "show", "HEAD:"+path)
		obj, err := canonical.Parse([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		key := objKey(obj)
		if _, dup := objs[key]; dup {
			t.Errorf("%s stored twice (again at %s)", key, path)
		}
		objs[key] = obj
	}
	return objs
}

func objKey(obj *unstructured.Unstructured) string {
	return obj.GroupVersionKind().Group + "/" + obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

// volatile are fields no stored file may hold anywhere.
var volatile = []string{"status", "managedFields", "resourceVersion", "uid", "creationTimestamp"}

// checkClean fails for any volatile field at any depth of any object.
func checkClean(t *testing.T, objs map[string]*unstructured.Unstructured) {
	t.Helper()
	for key, obj := range objs {
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					for _, bad := range volatile {
						// Documented exceptions: a CRD's schema may
						// describe a field called status, and a CRD
						// turns its status subresource on with
						// subresources.status; both are spec.
						if k == bad && !strings.Contains(path, ".properties") && !strings.HasSuffix(path, ".subresources") {
							t.Errorf("%s: %s.%s is stored", key, path, k)
						}
					}
					walk(path+"."+k, e)
				}
			case []any:
				for _, e := range v {
					walk(path+"[]", e)
				}
			}
		}
		walk("", obj.Object)
	}
}

// readObjects splits multi-document YAML files into objects.
func readObjects(t *testing.T, files ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			obj, err := canonical.Parse([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, obj)
		}
	}
	return out
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	return files
}
