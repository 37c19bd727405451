package canonical

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// config is the part of the configuration file the rules live in, read as
// a loader would: strictly, through Rules' UnmarshalYAML.
type config struct {
	Normalize Rules `yaml:"normalize"`
}

func readRules(t *testing.T, file string) (Rules, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c config
	err = dec.Decode(&c)
	return c.Normalize, err
}

func readLive(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t *testing.T, data []byte) *unstructured.Unstructured {
	t.Helper()
	obj, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestRulesGolden applies testdata/rules/<case>/rules.yaml to live.yaml (an
// object as the API server returned it, managedFields included) and
// compares the canonical YAML with want.yaml and what explain would show
// with explain.txt. A case without live.yaml holds invalid rules, and
// want.txt the exact error lines. go test ./canonical -update rewrites them.
func TestRulesGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/rules/*/rules.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no rule cases: %v", err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rules, err := readRules(t, file)
			live := filepath.Join(dir, "live.yaml")
			if _, statErr := os.Stat(live); os.IsNotExist(statErr) {
				var re RuleErrors
				if !errors.As(err, &re) {
					t.Fatalf("want RuleErrors, got %v", err)
				}
				compareGolden(t, filepath.Join(dir, "want.txt"), []byte(err.Error()+"\n"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data := readLive(t, live)

			obj := mustParse(t, data)
			Normalize(obj, Facts{PersistentVolumesCaptured: true, Rules: rules})
			got, err := Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "want.yaml"), got)

			again := mustParse(t, got)
			Normalize(again, Facts{PersistentVolumesCaptured: true, Rules: rules})
			if twice, _ := Marshal(again); !bytes.Equal(got, twice) {
				t.Errorf("Normalize with rules is not idempotent (-once +twice):\n%s", cmp.Diff(string(got), string(twice)))
			}

			var explain strings.Builder
			applied := rules.Apply(mustParse(t, data))
			for _, a := range applied {
				explain.WriteString(a.String())
			}
			if len(applied) == 0 {
				explain.WriteString("no rule matched\n")
			}
			compareGolden(t, filepath.Join(dir, "explain.txt"), []byte(explain.String()))
		})
	}
}
