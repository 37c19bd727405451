package main

import (
	"fmt"
	"slices"
	"strings"
)

// configError lists every mistake in a configuration file, one line each
// ("FILE:LINE: FIELD: what is wrong, what is allowed"). It is a usage
// error: the command exits 2.
type configError struct {
	file  string
	lines []string
	at    []int // the line in the file of each of lines
}

func (e *configError) Error() string {
	what := "errors"
	if len(e.lines) == 1 {
		what = "error"
	}
	order := make([]int, len(e.lines))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return e.at[a] - e.at[b] })
	lines := make([]string, len(order))
	for i, j := range order {
		lines[i] = e.lines[j]
	}
	return fmt.Sprintf("%s: %d %s; fix the file and run again:\n%s", e.file, len(e.lines), what, strings.Join(lines, "\n"))
}

func (e *configError) add(line int, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.at = append(e.at, line)
	switch {
	case line > 0 && field != "":
		e.lines = append(e.lines, fmt.Sprintf("%s:%d: %s: %s", e.file, line, field, msg))
	case line > 0:
		e.lines = append(e.lines, fmt.Sprintf("%s:%d: %s", e.file, line, msg))
	default:
		e.lines = append(e.lines, fmt.Sprintf("%s: %s", e.file, msg))
	}
}
