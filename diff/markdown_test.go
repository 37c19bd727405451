package diff

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/kubesnap/kubesnap/canonical"
)

// githubLimit is the most characters GitHub accepts in a comment.
const githubLimit = 65536

// bigReport has n changed ConfigMaps, named prefix-<i>, whose diffs are
// about 2*size bytes each.
func bigReport(prefix string, n, size int) Report {
	var pairs []Pair
	for i := range n {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		value := strings.Repeat("x", size)
		pairs = append(pairs, configMapPair(name, configMap(name, value+"1"), configMap(name, value+"2")))
	}
	return Build(pairs, n, Options{From: "HEAD", To: "live", Live: true})
}

func markdown(t *testing.T, r Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMarkdownSizeCap(t *testing.T) {
	tests := []struct {
		name       string
		report     Report
		rowsCut    bool // some objects are not in the table
		diffsCut   bool // some diffs are left out
		filledUpTo int  // the comment is at least this long: nothing was cut early
		noDiffs    bool // not one diff is shown
	}{
		{
			name:   "a small report holds every diff",
			report: bigReport("cm", 10, 100),
		},
		{
			name:       "diffs past the limit are left out, the table is whole",
			report:     bigReport("cm", 100, 2000),
			diffsCut:   true,
			filledUpTo: MarkdownLimit - 5000, // one diff is about 4,100 bytes
		},
		{
			name:       "a table past the limit is cut too",
			report:     bigReport("cm", 2000, 10),
			rowsCut:    true,
			diffsCut:   true,
			filledUpTo: MarkdownLimit - 200,
		},
		{
			name:     "after a diff too big to fit, the smaller ones are left out too",
			report:   joinReports(bigReport("big", 1, 70000), bigReport("small", 2, 10)),
			diffsCut: true,
			noDiffs:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := markdown(t, tt.report)
			if n := utf8.RuneCountInString(md); n > githubLimit {
				t.Errorf("comment is %d characters, over GitHub's %d", n, githubLimit)
			}
			if len(md) < tt.filledUpTo {
				t.Errorf("comment is %d bytes, cut before %d", len(md), tt.filledUpTo)
			}
			n := len(tt.report.Entries)
			rows := strings.Count(md, "\n| changed | ")
			details := strings.Count(md, "<details>")
			if tt.noDiffs && details > 0 {
				t.Errorf("%d diffs shown, want none", details)
			}
			omittedRows, omittedDiffs := omitted(t, md)
			if rows+omittedRows != n || details+omittedDiffs != n {
				t.Errorf("%d rows and %d diffs shown, %d and %d said left out; want %d of each in all",
					rows, details, omittedRows, omittedDiffs, n)
			}
			if (omittedRows > 0) != tt.rowsCut || (omittedDiffs > 0) != tt.diffsCut {
				t.Errorf("%d rows and %d diffs left out, want rows cut %v, diffs cut %v",
					omittedRows, omittedDiffs, tt.rowsCut, tt.diffsCut)
			}
		})
	}
}

// joinReports is a report with the entries of a, then those of b.
func joinReports(a, b Report) Report {
	a.Entries = append(a.Entries, b.Entries...)
	a.Compared += b.Compared
	return a
}

// omitted reads the closing line of a cut comment: how many objects are
// not in the table and how many diffs are left out. It checks the line's
// wording, and that it is the last line.
func omitted(t *testing.T, md string) (rows, diffs int) {
	t.Helper()
	const tail = " to keep this comment under GitHub's size limit; run `kubesnap diff` to see all of them._\n"
	i := strings.LastIndex(md, "\n_")
	if i < 0 || !strings.HasSuffix(md, tail) {
		if strings.Contains(md, "kubesnap diff") {
			t.Fatalf("malformed closing line:\n%s", md[max(0, len(md)-300):])
		}
		return 0, 0
	}
	line := strings.TrimSuffix(md[i+2:], tail)
	for _, part := range strings.Split(line, " and ") {
		var n int
		var what string
		if _, err := fmt.Sscanf(part, "%d %s", &n, &what); err != nil {
			t.Fatalf("closing line %q: %v", line, err)
		}
		switch part {
		case fmt.Sprintf("%d more objects are not listed", n):
			rows = n
		case fmt.Sprintf("%d diffs are left out", n):
			diffs = n
		default:
			t.Fatalf("closing line %q: unexpected %q", line, part)
		}
	}
	return rows, diffs
}

func TestMarkdownEscapesCells(t *testing.T) {
	id := canonical.ID{Group: "example.com", Resource: "notes", Namespace: "shop", Name: "a|b`c<d>e&f_g*h"}
	r := Report{From: "HEAD `x`", To: "live <y>", Compared: 1, Entries: []Entry{{
		Group: id.Group, Resource: id.Resource, Namespace: id.Namespace, Name: id.Name,
		Path: "p|`<>", Status: Changed, Diff: "--- a\n+++ b\n", Note: "see <b>|`x`",
	}}}
	md := markdown(t, r)
	for _, want := range []string{
		"HEAD \\`x\\` → live &lt;y&gt;\n",
		"| changed | notes.example.com/shop/a\\|b\\`c&lt;d&gt;e&amp;f\\_g\\*h | p\\|\\`&lt;&gt; |\n",
		"<summary>changed notes.example.com/shop/a|b`c&lt;d&gt;e&amp;f_g*h</summary>",
		"Note: see &lt;b&gt;\\|\\`x\\`\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkdownFenceOutrunsBackticks(t *testing.T) {
	r := Report{Compared: 1, Entries: []Entry{{
		Resource: "configmaps", Name: "md", Path: "p", Status: Changed,
		Diff: "--- a\n+++ b\n@@ -1 +1 @@\n ```\n-x\n+`````y\n",
	}}}
	md := markdown(t, r)
	if !strings.Contains(md, "\n``````diff\n--- a\n") || !strings.Contains(md, "+`````y\n``````\n") {
		t.Errorf("diff not fenced by six backticks:\n%s", md)
	}
}

// TestMarkdownSummaryOnly: entries with an empty Diff are rows, not blocks.
func TestMarkdownSummaryOnly(t *testing.T) {
	r := Report{From: "HEAD", To: "live", Compared: 5, Entries: []Entry{
		{Resource: "configmaps", Namespace: "shop", Name: "a", Path: "p/a", Status: Changed},
	}}
	want := "### kubesnap drift: 1 of 5 objects differs\n\nHEAD → live\n\n" +
		"| Status | Object | Path |\n|---|---|---|\n| changed | configmaps/shop/a | p/a |\n"
	if d := cmp.Diff(want, markdown(t, r)); d != "" {
		t.Errorf("markdown (-want +got):\n%s", d)
	}
}
