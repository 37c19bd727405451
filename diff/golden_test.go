package diff

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubesnap/kubesnap/canonical"
)

var update = flag.Bool("update", false, "rewrite testdata/*/report.* from the code")

// goldenCase is testdata/<case>/case.yaml: the options of the report, and
// the notes the caller would attach.
type goldenCase struct {
	From        string            `json:"from"`
	To          string            `json:"to"`
	Live        bool              `json:"live"`
	ShowSecrets bool              `json:"showSecrets"`
	Context     int               `json:"context"`
	Notes       map[string]string `json:"notes"`       // path → Pair.Note
	ReportNotes []string          `json:"reportNotes"` // Report.Notes
}

// TestGolden builds the report of each testdata/<case> and renders it in
// every format, comparing with the golden files; go test ./diff -update
// rewrites them. A case is
//
//	case.yaml        the options (see goldenCase)
//	from/<path>      the From side, one file per object at its repository path
//	to/<path>        the To side
//	report.txt       WriteText, without and with colour (report-color.txt)
//	report.json      WriteJSON
//	report.md        WriteMarkdown
//
// An object in only one tree was added or removed; Compared is the number
// of paths in either tree. Unless the case shows Secrets, no Secret value
// from either tree may appear in any output.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range cases {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := readCase(t, file)
			pairs := readPairs(t, dir, c.Notes)
			r := Build(pairs, len(pairs), Options{
				From: c.From, To: c.To, Live: c.Live, ShowSecrets: c.ShowSecrets, Context: c.Context,
			})
			r.Notes = c.ReportNotes
			outputs := render(t, r)
			for _, name := range sortedKeys(outputs) {
				compareGolden(t, filepath.Join(dir, name), outputs[name])
			}
			for name, out := range outputs {
				if name != "report-color.txt" && bytes.Contains(out, []byte("\x1b")) {
					t.Errorf("%s holds an escape sequence", name)
				}
			}
			values := secretValuesIn(t, pairs)
			for name, out := range outputs {
				var leaked []string
				for _, v := range values {
					if bytes.Contains(out, []byte(v)) {
						leaked = append(leaked, v)
					}
				}
				switch {
				case !c.ShowSecrets && len(leaked) > 0:
					t.Errorf("%s holds the Secret values %q", name, leaked)
				case c.ShowSecrets && len(values) > 0 && len(leaked) == 0:
					// Shown values must be found, or the search above
					// proves nothing.
					t.Errorf("%s shows no Secret value, though asked to", name)
				}
			}
		})
	}
}

// render writes r in every format, by golden file name.
func render(t *testing.T, r Report) map[string][]byte {
	t.Helper()
	var text, color, js, md bytes.Buffer
	for _, err := range []error{
		r.WriteText(&text, false),
		r.WriteText(&color, true),
		r.WriteJSON(&js),
		r.WriteMarkdown(&md),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return map[string][]byte{
		"report.txt":       text.Bytes(),
		"report-color.txt": color.Bytes(),
		"report.json":      js.Bytes(),
		"report.md":        md.Bytes(),
	}
}

func readCase(t *testing.T, file string) goldenCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// readPairs pairs the files of dir/from and dir/to by path, in path order.
func readPairs(t *testing.T, dir string, notes map[string]string) []Pair {
	t.Helper()
	byPath := map[string]*Pair{}
	for _, side := range []string{"from", "to"} {
		root := filepath.Join(dir, side)
		err := filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, file)
			if err != nil {
				return err
			}
			path := filepath.ToSlash(rel)
			p := byPath[path]
			if p == nil {
				id, err := canonical.ParsePath(path)
				if err != nil {
					return err
				}
				p = &Pair{ID: id, Path: path, Note: notes[path]}
				byPath[path] = p
			}
			if side == "from" {
				p.From = data
			} else {
				p.To = data
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for path := range notes {
		if byPath[path] == nil {
			t.Fatalf("note for %s, which is in neither tree", path)
		}
	}
	var pairs []Pair
	for _, path := range sortedKeys(byPath) {
		pairs = append(pairs, *byPath[path])
	}
	return pairs
}

// secretValuesIn lists every value of the Secrets in pairs as it is
// written (base64 under data) and decoded. It parses loosely, line by line,
// so that it finds the values of files canonical.Parse rejects too.
func secretValuesIn(t *testing.T, pairs []Pair) []string {
	t.Helper()
	var values []string
	for _, p := range pairs {
		if !isSecret(p.ID) {
			continue
		}
		for _, side := range [][]byte{p.From, p.To} {
			section := ""
			for _, line := range strings.Split(string(side), "\n") {
				if !strings.HasPrefix(line, " ") {
					section = strings.TrimSuffix(line, ":")
					continue
				}
				if section != "data" && section != "stringData" {
					continue
				}
				_, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
				if !ok {
					t.Fatalf("%s: unexpected line %q", p.Path, line)
				}
				values = append(values, v)
				if section == "data" {
					dec, err := base64.StdEncoding.DecodeString(v)
					if err != nil {
						t.Fatalf("%s: %q is not base64", p.Path, v)
					}
					values = append(values, string(dec))
				}
			}
		}
	}
	for _, v := range values {
		if len(v) < 8 {
			// A short value could occur in a report by chance.
			t.Fatalf("Secret value %q in testdata is too short to look for", v)
		}
	}
	return values
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
	}
}
