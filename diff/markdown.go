package diff

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// MarkdownLimit is the size, in bytes, past which WriteMarkdown leaves out
// the remaining diffs. GitHub refuses comments over 65,536 characters; a
// byte is never less than a character, and the margin holds the closing
// note.
const MarkdownLimit = 60000

// WriteMarkdown writes the report as a pull-request comment: a heading, the
// two sides, a table of the objects that differ, then each non-empty diff
// in a collapsed <details> block with the entry's note. Entries with an
// empty Diff appear only in the table. The comment stays under
// MarkdownLimit bytes: once the next table row or diff would pass it, the
// rest are left out and a closing line says how many and to run
// kubesnap diff for all of them.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	if r.Drift() {
		fmt.Fprintf(&b, "### kubesnap drift: %s\n\n", differ(len(r.Entries), r.Compared))
	} else {
		fmt.Fprintf(&b, "### kubesnap: in sync (%s compared)\n\n", objects(r.Compared))
	}
	b.WriteString(escapeMarkdown(r.From) + " → " + escapeMarkdown(r.To) + "\n")
	for _, n := range r.Notes {
		b.WriteString("\n> " + escapeMarkdown(n) + "\n")
	}

	rows := 0
	if r.Drift() {
		b.WriteString("\n| Status | Object | Path |\n|---|---|---|\n")
		for _, e := range r.Entries {
			row := "| " + string(e.Status) + " | " + escapeMarkdown(e.ID().String()) + " | " + escapeMarkdown(e.Path) + " |\n"
			if b.Len()+len(row) > MarkdownLimit {
				break
			}
			b.WriteString(row)
			rows++
		}
	}

	omittedDiffs := 0
	for i, e := range r.Entries {
		if e.Diff == "" {
			continue
		}
		block := detailsBlock(e)
		if omittedDiffs > 0 || i >= rows || b.Len()+len(block) > MarkdownLimit {
			omittedDiffs++
			continue
		}
		b.WriteString(block)
	}
	if line := omittedLine(len(r.Entries)-rows, omittedDiffs); line != "" {
		b.WriteString("\n" + line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// detailsBlock is one entry's collapsed diff. GitHub renders Markdown in a
// <details> block only after a blank line.
func detailsBlock(e Entry) string {
	var b strings.Builder
	b.WriteString("\n<details><summary>" + string(e.Status) + " " + html.EscapeString(e.ID().String()) + "</summary>\n\n")
	if e.Note != "" {
		b.WriteString("Note: " + escapeMarkdown(e.Note) + "\n\n")
	}
	fence := fenceFor(e.Diff)
	b.WriteString(fence + "diff\n" + e.Diff)
	if !strings.HasSuffix(e.Diff, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(fence + "\n\n</details>\n")
	return b.String()
}

// fenceFor is a code fence longer than any run of backticks in s, so that
// no line of s closes it (a closing fence may be indented, so context
// lines count too).
func fenceFor(s string) string {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// omittedLine says what the size limit left out, or "" if nothing.
func omittedLine(rows, diffs int) string {
	var parts []string
	if rows > 0 {
		parts = append(parts, fmt.Sprintf("%d more objects are not listed", rows))
	}
	if diffs > 0 {
		parts = append(parts, fmt.Sprintf("%d diffs are left out", diffs))
	}
	if parts == nil {
		return ""
	}
	return "_" + strings.Join(parts, " and ") +
		" to keep this comment under GitHub's size limit; run `kubesnap diff` to see all of them._"
}

// escapeMarkdown escapes what would end a table cell or start Markdown
// or HTML markup in text from objects (names, paths, notes).
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
