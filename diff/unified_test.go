package diff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lines joins its arguments, each followed by "\n".
func lines(ls ...string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

// numbers is the lines "01" to n.
func numbers(n int) []string {
	var ls []string
	for i := 1; i <= n; i++ {
		ls = append(ls, fmt.Sprintf("%02d", i))
	}
	return ls
}

// replace returns ls with ls[i] (0-based) replaced by s.
func replace(ls []string, i int, s string) []string {
	out := append([]string(nil), ls...)
	out[i] = s
	return out
}

// TestUnified compares unified's hunks with what GNU diff -u prints for the
// same inputs (the expected bodies were taken from diff -U<context>).
func TestUnified(t *testing.T) {
	twelve := numbers(12)
	tests := []struct {
		name     string
		from, to string
		context  int
		want     string // the hunks, after the two header lines
	}{
		{
			name:    "changes six lines apart share one hunk",
			from:    lines(twelve...),
			to:      lines(replace(replace(twelve, 1, "X"), 8, "Y")...),
			context: 3,
			want: lines("@@ -1,12 +1,12 @@", " 01", "-02", "+X", " 03", " 04", " 05", " 06", " 07", " 08",
				"-09", "+Y", " 10", " 11", " 12"),
		},
		{
			name:    "changes seven lines apart make two hunks",
			from:    lines(twelve...),
			to:      lines(replace(replace(twelve, 1, "X"), 9, "Y")...),
			context: 3,
			want: lines("@@ -1,5 +1,5 @@", " 01", "-02", "+X", " 03", " 04", " 05",
				"@@ -7,6 +7,6 @@", " 07", " 08", " 09", "-10", "+Y", " 11", " 12"),
		},
		{
			name:    "a change on the first line has context after it only",
			from:    lines("a", "b", "c", "d", "e", "f"),
			to:      lines("A", "b", "c", "d", "e", "f"),
			context: 3,
			want:    lines("@@ -1,4 +1,4 @@", "-a", "+A", " b", " c", " d"),
		},
		{
			name:    "a change on the last line has context before it only",
			from:    lines("a", "b", "c", "d", "e", "f"),
			to:      lines("a", "b", "c", "d", "e", "F"),
			context: 3,
			want:    lines("@@ -3,4 +3,4 @@", " c", " d", " e", "-f", "+F"),
		},
		{
			name:    "an empty From side is an empty range at line 0",
			from:    "",
			to:      lines("a", "b"),
			context: 3,
			want:    lines("@@ -0,0 +1,2 @@", "+a", "+b"),
		},
		{
			name:    "an empty To side is an empty range at line 0",
			from:    lines("a", "b"),
			to:      "",
			context: 3,
			want:    lines("@@ -1,2 +0,0 @@", "-a", "-b"),
		},
		{
			name:    "a line inserted at the start without context",
			from:    lines("a", "b", "c"),
			to:      lines("new", "a", "b", "c"),
			context: 0,
			want:    lines("@@ -0,0 +1 @@", "+new"),
		},
		{
			name:    "a line appended without context names the line it follows",
			from:    lines("a", "b", "c"),
			to:      lines("a", "b", "c", "new"),
			context: 0,
			want:    lines("@@ -3,0 +4 @@", "+new"),
		},
		{
			name:    "one line of context merges changes one line apart",
			from:    lines("a", "b", "c", "d", "e"),
			to:      lines("a", "B", "c", "D", "e"),
			context: 1,
			want:    lines("@@ -1,5 +1,5 @@", " a", "-b", "+B", " c", "-d", "+D", " e"),
		},
		{
			name:    "no context keeps every change in its own hunk",
			from:    lines("a", "b", "c", "d", "e"),
			to:      lines("a", "B", "c", "d", "E"),
			context: 0,
			want:    lines("@@ -2 +2 @@", "-b", "+B", "@@ -5 +5 @@", "-e", "+E"),
		},
		{
			name:    "a negative context is none",
			from:    lines("a", "b", "c"),
			to:      lines("a", "B", "c"),
			context: -2,
			want:    lines("@@ -2 +2 @@", "-b", "+B"),
		},
		{
			name:    "a last line without newline is marked, and differs from the same line with one",
			from:    "a\nb",
			to:      "a\nb\nc",
			context: 3,
			want:    lines("@@ -1,2 +1,3 @@", " a", "-b", noNewline, "+b", "+c", noNewline),
		},
		{
			name:    "an unchanged last line without newline is marked once",
			from:    "a\nb\nc",
			to:      "A\nb\nc",
			context: 3,
			want:    lines("@@ -1,3 +1,3 @@", "-a", "+A", " b", " c", noNewline),
		},
		{
			name:    "deletions come before insertions in a run of changes",
			from:    lines("k: 1", "x", "k: 2"),
			to:      lines("k: 1", "y", "z", "k: 2"),
			context: 3,
			want:    lines("@@ -1,3 +1,4 @@", " k: 1", "-x", "+y", "+z", " k: 2"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unified("a/f", "b/f", tt.from, tt.to, tt.context)
			want := "--- a/f\n+++ b/f\n" + tt.want
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("unified (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnifiedOfEqualTextsIsEmpty(t *testing.T) {
	for _, s := range []string{"", "a\n", "a\nb"} {
		if got := unified("a", "b", s, s, 3); got != "" {
			t.Errorf("unified(%q, %q) = %q, want \"\"", s, s, got)
		}
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\n\nb", []string{"a\n", "\n", "b"}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, splitLines(tt.in)); d != "" {
			t.Errorf("splitLines(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}
