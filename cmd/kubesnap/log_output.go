package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kubesnap/kubesnap/internal/gitstore"
)

// logWriter prints the catalog as gitstore.Log reads it, each entry at
// once: a table whose columns have fixed widths (a tabwriter would hold
// every line until the end to measure them), or a JSON array written
// element by element, the same bytes json.Encoder would write for the
// whole list.
type logWriter struct {
	json bool
	out  io.Writer
	n    int
}

func newLogWriter(output string, out io.Writer) *logWriter {
	return &logWriter{json: output == "json", out: out}
}

// logColumns lays out a line of the table: commit, time, count, summary.
const logColumns = "%-12s  %-20s  %-7v  %s\n"

func (w *logWriter) entry(e gitstore.Entry) error {
	defer func() { w.n++ }()
	if w.json {
		data, err := json.MarshalIndent(e, "  ", "  ")
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
		if _, err := fmt.Fprintf(w.out, logColumns, "COMMIT", "TIME", "CHANGED", "SUMMARY"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w.out, logColumns, e.Commit[:12], e.Time.Format("2006-01-02 15:04:05Z"), e.Changed, e.Summary)
	return err
}

// close ends the output: the JSON array, or the table's header alone
// when no commit was listed.
func (w *logWriter) close() error {
	var err error
	switch {
	case w.json && w.n == 0:
		_, err = io.WriteString(w.out, "[]\n")
	case w.json:
		_, err = io.WriteString(w.out, "\n]\n")
	case w.n == 0:
		_, err = fmt.Fprintf(w.out, logColumns, "COMMIT", "TIME", "CHANGED", "SUMMARY")
	}
	return err
}
