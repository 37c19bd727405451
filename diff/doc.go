// Package diff compares two sets of canonical objects (a revision and the
// live cluster, or two revisions) and renders the result as a unified diff
// (text), a machine-readable report (JSON) or a pull-request comment
// (Markdown).
//
// Everything here is a pure function over canonical YAML bytes: no I/O
// beyond the io.Writer a report is rendered to, no clocks, no globals.
// Secret values never appear in a report unless Options.ShowSecrets: the
// diff of a Secret shows which keys were added, removed or changed.
//
// # Flow
//
//	r := diff.Build(pairs, compared, opts)   one Entry per pair whose bytes differ
//	r.WriteText(w, color) | r.WriteJSON(w) | r.WriteMarkdown(w)
//
// # Unified diffs
//
// The line diff comes from sergi/go-diff (diffmatchpatch in line mode, with
// no deadline so the result never depends on the machine's speed); the hunks
// are built here as GNU diff -u builds them: Context lines around each run
// of changes, runs at most 2*Context unchanged lines apart sharing one hunk,
// deletions before insertions, "\ No newline at end of file" after a last
// line that lacks one, and /dev/null naming a side the object is not on.
//
// # Secrets
//
// Before a Secret is diffed, both sides are parsed and every value under
// data and stringData (and kubectl's last-applied annotation, which repeats
// them) is replaced by a placeholder: SameValue when the key's value is the
// same on both sides, else OldValue on the From side and NewValue on the To
// side. Values are compared as the API server stores them (data decoded,
// stringData winning), so moving a value between the two is no change. A
// side that cannot be parsed is never shown, since nothing tells its values
// from the rest; nor is the parser's error, which may quote the document.
//
// # Files
//
//	diff.go      Status, Pair, Options, Entry, Report: the types
//	build.go     Build: one Entry per pair whose bytes differ
//	unified.go   unified: GNU-style hunks over go-diff's line diff
//	secret.go    a Secret's values, read as the server stores them
//	redact.go    a Secret's diff with its values replaced by placeholders
//	text.go      Report.WriteText, Counts, Total: the terminal report
//	json.go      Report.WriteJSON
//	markdown.go  Report.WriteMarkdown: a pull-request comment
package diff
