package diff

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ANSI styles of the text report, as git diff colours its output.
const (
	styleBold  = "\x1b[1m"
	styleRed   = "\x1b[31m"
	styleGreen = "\x1b[32m"
	styleCyan  = "\x1b[36m"
	styleReset = "\x1b[0m"
)

// statuses lists every status in the order reports count them.
func statuses() []Status {
	return []Status{Changed, MissingLive, NewLive, Removed, Added}
}

// Counts returns how many entries have each status; statuses no entry has
// are absent.
func (r Report) Counts() map[Status]int {
	counts := map[Status]int{}
	for _, e := range r.Entries {
		counts[e.Status]++
	}
	return counts
}

// Total is the report's last line: "in sync: N objects compared (From →
// To)", or "drift: K of N objects differ (a changed, b missing live, …)"
// with only the statuses that occur, in a fixed order.
func (r Report) Total() string {
	if !r.Drift() {
		return fmt.Sprintf("in sync: %s compared (%s → %s)", objects(r.Compared), r.From, r.To)
	}
	counts := r.Counts()
	var parts []string
	for _, s := range statuses() {
		if n := counts[s]; n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+string(s))
		}
	}
	return fmt.Sprintf("drift: %s (%s)", differ(len(r.Entries), r.Compared), strings.Join(parts, ", "))
}

// objects is "1 object" or "N objects".
func objects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return strconv.Itoa(n) + " objects"
}

// differ is "K of N objects differ", or "differs" for one.
func differ(k, n int) string {
	verb := "differ"
	if k == 1 {
		verb = "differs"
	}
	return fmt.Sprintf("%d of %s %s", k, objects(n), verb)
}

// WriteText writes the report for a terminal: per entry a summary line
// ("<status>  <object>  <path>"), its note and its unified diff, then the
// report's notes and the Total line. An in-sync report is its notes and the
// Total line. With color, diff lines are coloured as git colours them and
// summary lines are bold; without it the output holds no escape sequence.
func (r Report) WriteText(w io.Writer, color bool) error {
	var b bytes.Buffer
	width := 0
	for _, e := range r.Entries {
		width = max(width, len(e.Status))
	}
	for _, e := range r.Entries {
		summary := fmt.Sprintf("%-*s  %s  %s", width, e.Status, e.ID(), e.Path)
		b.WriteString(paint(color, styleBold, summary) + "\n")
		if e.Note != "" {
			b.WriteString("  note: " + strings.ReplaceAll(e.Note, "\n", "\n  ") + "\n")
		}
		if e.Diff != "" {
			writeDiffText(&b, e.Diff, color)
			// A blank line ends each diff, so the next summary stands out.
			b.WriteString("\n")
		}
	}
	for _, n := range r.Notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString(paint(color, styleBold, r.Total()) + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeDiffText writes a unified diff line by line, coloured as git does:
// bold file headers, cyan hunk headers, red deletions, green insertions.
// The "---" and "+++" headers are recognised only before the first hunk: a
// deleted line "-- x" also starts with "---".
func writeDiffText(b *bytes.Buffer, diff string, color bool) {
	inHeader := true
	for _, line := range splitLines(diff) {
		line = strings.TrimSuffix(line, "\n")
		style := ""
		switch {
		case strings.HasPrefix(line, "@@"):
			inHeader = false
			style = styleCyan
		case inHeader && (strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "+++ ")):
			style = styleBold
		case strings.HasPrefix(line, "-"):
			style = styleRed
		case strings.HasPrefix(line, "+"):
			style = styleGreen
		}
		b.WriteString(paint(color, style, line) + "\n")
	}
}

// paint wraps s in style when color is on.
func paint(color bool, style, s string) string {
	if !color || style == "" {
		return s
	}
	return style + s + styleReset
}
