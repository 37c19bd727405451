package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// historyWriter prints the entries as History finds them, each at once:
// a table of fixed widths (WHO is padded to historyWho; a longer name
// pushes its line's WHAT along), each change followed by its diff with
// -p, or a JSON array written element by element.
type historyWriter struct {
	json bool
	out  io.Writer
	n    int
}

func newHistoryWriter(output string, out io.Writer) *historyWriter {
	return &historyWriter{json: output == "json", out: out}
}

const historyColumns = "%-12s  %-20s  %-28s  %s\n"

func (w *historyWriter) entry(e historyEntry) error {
	defer func() { w.n++ }()
	if w.json {
		data, err := marshalPlain(e, "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if w.n == 0 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(w.out, "%s%s", sep, data)
		return err
	}
	if w.n == 0 {
		if _, err := fmt.Fprintf(w.out, historyColumns, "COMMIT", "TIME", "WHO", "WHAT"); err != nil {
			return err
		}
	}
	who := termSafe(e.Author)
	if e.Manager != "" {
		who += " (" + termSafe(e.Manager) + ")"
	}
	if _, err := fmt.Fprintf(w.out, historyColumns, e.Commit[:12], strings.Replace(e.Time, "T", " ", 1), who, e.What); err != nil {
		return err
	}
	if e.Diff != "" {
		_, err := fmt.Fprintf(w.out, "\n%s\n\n", strings.TrimSuffix(e.Diff, "\n"))
		return err
	}
	return nil
}

// close ends the output: the JSON array, or the table's header alone
// when no change was listed.
func (w *historyWriter) close() error {
	var err error
	switch {
	case w.json && w.n == 0:
		_, err = io.WriteString(w.out, "[]\n")
	case w.json:
		_, err = io.WriteString(w.out, "\n]\n")
	case w.n == 0:
		_, err = fmt.Fprintf(w.out, historyColumns, "COMMIT", "TIME", "WHO", "WHAT")
	}
	return err
}

// marshalPlain is json.MarshalIndent without escaping <, > and &: the
// placeholders of hidden values (<redacted>) stay readable.
func marshalPlain(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writePlainJSON is writeJSON without escaping <, > and &.
func writePlainJSON(w io.Writer, v any) error {
	data, err := marshalPlain(v, "")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// termSafe is s safe for one line of a terminal: control characters (a
// line break, an escape) in a name from a repository are quoted.
func termSafe(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
