package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubesnap/kubesnap/canonical"
)

func configMap(name, value string) []byte {
	return []byte("apiVersion: v1\ndata:\n  k: " + value + "\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n")
}

func configMapPair(name string, from, to []byte) Pair {
	id := canonical.ID{Resource: "configmaps", Namespace: "shop", Name: name}
	return Pair{ID: id, Path: canonical.PathOf(id), From: from, To: to}
}

func TestBuildStatuses(t *testing.T) {
	pairs := []Pair{
		configMapPair("d-same", configMap("d-same", "v"), configMap("d-same", "v")),
		configMapPair("c-changed", configMap("c-changed", "1"), configMap("c-changed", "2")),
		configMapPair("b-only-from", configMap("b-only-from", "v"), nil),
		configMapPair("a-only-to", nil, configMap("a-only-to", "v")),
	}
	tests := []struct {
		name string
		live bool
		want map[string]Status // by name
	}{
		{"between revisions, objects are added and removed", false,
			map[string]Status{"a-only-to": Added, "b-only-from": Removed, "c-changed": Changed}},
		{"against the live cluster, objects are new or missing live", true,
			map[string]Status{"a-only-to": NewLive, "b-only-from": MissingLive, "c-changed": Changed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(pairs, 7, Options{From: "x", To: "y", Live: tt.live})
			got := map[string]Status{}
			var paths []string
			for _, e := range r.Entries {
				got[e.Name] = e.Status
				paths = append(paths, e.Path)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
			if !sortedStrings(paths) {
				t.Errorf("entries not sorted by path: %q", paths)
			}
			if r.From != "x" || r.To != "y" || r.Compared != 7 {
				t.Errorf("report header = %q %q %d, want x y 7", r.From, r.To, r.Compared)
			}
		})
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func TestBuildKeepsNoteAndID(t *testing.T) {
	p := configMapPair("web", configMap("web", "1"), configMap("web", "2"))
	p.Note = "dry-run refused"
	r := Build([]Pair{p}, 1, Options{From: "HEAD", To: "live", Live: true})
	want := []Entry{{
		Resource: "configmaps", Namespace: "shop", Name: "web", Path: p.Path, Status: Changed,
		Note: "dry-run refused",
	}}
	if d := cmp.Diff(want, r.Entries, cmpopts.IgnoreFields(Entry{}, "Diff")); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if r.Entries[0].ID() != p.ID {
		t.Errorf("ID() = %v, want %v", r.Entries[0].ID(), p.ID)
	}
}

func TestBuildInSyncHasEmptyEntries(t *testing.T) {
	r := Build([]Pair{configMapPair("web", configMap("web", "1"), configMap("web", "1"))}, 1, Options{})
	if r.Drift() || r.Entries == nil {
		t.Errorf("Build of equal pairs = %+v, want no drift and empty (not nil) entries", r)
	}
}

func TestBuildContext(t *testing.T) {
	var from, to []string
	for i := range 20 {
		from = append(from, "line")
		to = append(to, "line")
		if i == 10 {
			to[i] = "changed"
		}
	}
	tests := []struct {
		context int
		header  string
	}{
		{0, "@@ -8,7 +8,7 @@"}, // 0 means the default, 3
		{1, "@@ -10,3 +10,3 @@"},
		{-1, "@@ -11 +11 @@"},
	}
	for _, tt := range tests {
		p := configMapPair("web", []byte(lines(from...)), []byte(lines(to...)))
		r := Build([]Pair{p}, 1, Options{Context: tt.context})
		if !strings.Contains(r.Entries[0].Diff, "\n"+tt.header+"\n") {
			t.Errorf("Context %d: diff lacks %q:\n%s", tt.context, tt.header, r.Entries[0].Diff)
		}
	}
}

func TestBuildHeaders(t *testing.T) {
	tests := []struct {
		name     string
		p        Pair
		opts     Options
		from, to string
	}{
		{"both sides named", configMapPair("web", configMap("web", "1"), configMap("web", "2")),
			Options{From: "HEAD (1a2b3c4)", To: "live (kind)"},
			"--- HEAD (1a2b3c4)/namespaces/shop/configmaps/web.yaml", "+++ live (kind)/namespaces/shop/configmaps/web.yaml"},
		{"a missing side is /dev/null", configMapPair("web", nil, configMap("web", "2")),
			Options{From: "HEAD", To: "live"},
			"--- /dev/null", "+++ live/namespaces/shop/configmaps/web.yaml"},
		{"unnamed sides are a and b, as in git", configMapPair("web", configMap("web", "1"), nil),
			Options{},
			"--- a/namespaces/shop/configmaps/web.yaml", "+++ /dev/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build([]Pair{tt.p}, 1, tt.opts)
			got := strings.SplitN(r.Entries[0].Diff, "\n", 3)[:2]
			if d := cmp.Diff([]string{tt.from, tt.to}, got); d != "" {
				t.Errorf("headers (-want +got):\n%s", d)
			}
		})
	}
}

// TestJSONRoundTrip checks that WriteJSON holds every field of the Report
// (a field added to Report but not to the JSON form would be lost).
func TestJSONRoundTrip(t *testing.T) {
	r := Build([]Pair{
		configMapPair("web", configMap("web", "1"), configMap("web", "2")),
		{ID: secretID, Path: secretPath, To: secretYAML([]string{"a: alpha-Value-1x"}, nil, ""), Note: "n"},
	}, 3, Options{From: "HEAD", To: "live", Live: true})
	r.Notes = []string{"widgets.example.com not compared"}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, back); d != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", d)
	}
	var extra struct {
		Drift   bool           `json:"drift"`
		Summary map[Status]int `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &extra); err != nil {
		t.Fatal(err)
	}
	want := map[Status]int{Changed: 1, NewLive: 1, MissingLive: 0, Added: 0, Removed: 0}
	if !extra.Drift || cmp.Diff(want, extra.Summary) != "" {
		t.Errorf("drift = %v, summary = %v; want true, %v", extra.Drift, extra.Summary, want)
	}
}

func TestJSONOfZeroReportListsNoObjects(t *testing.T) {
	var buf bytes.Buffer
	if err := (Report{}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"objects": []`) {
		t.Errorf("objects are not []:\n%s", buf.String())
	}
}

// TestTextSummaryOnly: entries without a diff (a summary-only report) are
// one line each, padded to the longest status.
func TestTextSummaryOnly(t *testing.T) {
	r := Report{From: "HEAD", To: "live", Compared: 9, Entries: []Entry{
		{Resource: "configmaps", Namespace: "shop", Name: "a", Path: "p/a", Status: Changed},
		{Resource: "configmaps", Namespace: "shop", Name: "b", Path: "p/b", Status: MissingLive},
		{Resource: "configmaps", Namespace: "shop", Name: "c", Path: "p/c", Status: Changed, Note: "n"},
	}}
	var buf bytes.Buffer
	if err := r.WriteText(&buf, false); err != nil {
		t.Fatal(err)
	}
	want := lines(
		"changed       configmaps/shop/a  p/a",
		"missing live  configmaps/shop/b  p/b",
		"changed       configmaps/shop/c  p/c",
		"  note: n",
		"drift: 3 of 9 objects differ (2 changed, 1 missing live)",
	)
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("text (-want +got):\n%s", d)
	}
}

func TestCounts(t *testing.T) {
	r := Report{Entries: []Entry{{Status: Changed}, {Status: Added}, {Status: Changed}}}
	if d := cmp.Diff(map[Status]int{Changed: 2, Added: 1}, r.Counts()); d != "" {
		t.Errorf("Counts (-want +got):\n%s", d)
	}
}
