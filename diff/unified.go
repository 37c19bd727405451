package diff

import (
	"strconv"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// defaultContext is the number of unchanged lines shown around a change, as
// in diff -u and git diff.
const defaultContext = 3

// noNewline follows the last line of a side that does not end in a newline,
// as diff -u writes it.
const noNewline = `\ No newline at end of file`

// op is one line of a unified diff: kind is ' ' (in both sides), '-' (only
// in From) or '+' (only in To). text keeps the line's "\n"; only the last
// line of a side may lack it.
type op struct {
	kind byte
	text string
}

// hunk is one "@@ -a,b +c,d @@" block. fromBefore and toBefore count the
// lines of each side that come before the hunk.
type hunk struct {
	fromBefore, fromCount int
	toBefore, toCount     int
	ops                   []op
}

// unified returns the unified diff of from → to with the given headers and
// lines of context, or "" when the two texts are equal.
func unified(fromName, toName, from, to string, context int) string {
	if from == to {
		return ""
	}
	var b strings.Builder
	b.WriteString("--- " + fromName + "\n")
	b.WriteString("+++ " + toName + "\n")
	for _, h := range hunks(lineOps(from, to), context) {
		b.WriteString("@@ -" + hunkRange(h.fromBefore, h.fromCount) +
			" +" + hunkRange(h.toBefore, h.toCount) + " @@\n")
		for _, o := range h.ops {
			b.WriteByte(o.kind)
			b.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				b.WriteString("\n" + noNewline + "\n")
			}
		}
	}
	return b.String()
}

// lineOps is the line diff of from → to. Within each run of changes the
// deleted lines come before the inserted ones, as diff -u prints them
// (diffmatchpatch may give them in either order).
func lineOps(from, to string) []op {
	dmp := diffmatchpatch.New()
	// No deadline: with one, the diff (and so a golden report) would
	// depend on how fast the machine is, and this package reads no clock.
	dmp.DiffTimeout = 0
	a, b, lines := dmp.DiffLinesToChars(from, to)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)

	var ops, dels, adds []op
	flush := func() {
		ops = append(ops, dels...)
		ops = append(ops, adds...)
		dels, adds = dels[:0], adds[:0]
	}
	for _, d := range diffs {
		for _, line := range splitLines(d.Text) {
			switch d.Type {
			case diffmatchpatch.DiffEqual:
				flush()
				ops = append(ops, op{' ', line})
			case diffmatchpatch.DiffDelete:
				dels = append(dels, op{'-', line})
			case diffmatchpatch.DiffInsert:
				adds = append(adds, op{'+', line})
			}
		}
	}
	flush()
	return ops
}

// splitLines splits s after each "\n"; the last line lacks it when s does
// not end in one.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n') + 1
		if i == 0 {
			i = len(s)
		}
		lines = append(lines, s[:i])
		s = s[i:]
	}
	return lines
}

// hunks groups ops into hunks with context unchanged lines around each run
// of changes. Two runs separated by at most 2*context unchanged lines share
// one hunk, so that no line is printed twice (diff -u does the same).
func hunks(ops []op, context int) []hunk {
	context = max(context, 0)
	// before[i] counts the From and To lines ahead of ops[i].
	fromBefore := make([]int, len(ops)+1)
	toBefore := make([]int, len(ops)+1)
	for i, o := range ops {
		fromBefore[i+1], toBefore[i+1] = fromBefore[i], toBefore[i]
		if o.kind != '+' {
			fromBefore[i+1]++
		}
		if o.kind != '-' {
			toBefore[i+1]++
		}
	}

	var out []hunk
	for i := 0; i < len(ops); {
		first := nextChange(ops, i)
		if first == len(ops) {
			break
		}
		end := endOfRun(ops, first)
		for {
			next := nextChange(ops, end)
			if next == len(ops) || next-end > 2*context {
				break
			}
			end = endOfRun(ops, next)
		}
		start, stop := max(first-context, 0), min(end+context, len(ops))
		out = append(out, hunk{
			fromBefore: fromBefore[start], fromCount: fromBefore[stop] - fromBefore[start],
			toBefore: toBefore[start], toCount: toBefore[stop] - toBefore[start],
			ops: ops[start:stop],
		})
		i = stop
	}
	return out
}

// nextChange is the index of the first changed line at or after i, or
// len(ops).
func nextChange(ops []op, i int) int {
	for i < len(ops) && ops[i].kind == ' ' {
		i++
	}
	return i
}

// endOfRun is the index just after the run of changed lines at i.
func endOfRun(ops []op, i int) int {
	for i < len(ops) && ops[i].kind != ' ' {
		i++
	}
	return i
}

// hunkRange is one side of a hunk header as diff -u writes it: "first,count",
// just "first" when count is 1, and "before,0" for an empty range (the line
// after which the change goes, 0 at the start of the file).
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(before) + ",0"
	case 1:
		return strconv.Itoa(before + 1)
	default:
		return strconv.Itoa(before+1) + "," + strconv.Itoa(count)
	}
}
