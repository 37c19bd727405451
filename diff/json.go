package diff

import (
	"encoding/json"
	"io"
)

// jsonReport is the JSON form of a Report: its fields, with drift and the
// counts up front where a script looks first.
type jsonReport struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Compared int            `json:"compared"`
	Drift    bool           `json:"drift"`
	Summary  map[Status]int `json:"summary"`
	Entries  []Entry        `json:"objects"`
	Notes    []string       `json:"notes,omitempty"`
}

// WriteJSON writes the report as indented JSON: the Report's fields under
// their tags, plus "drift" (whether any object differs) and "summary" (the
// number of objects of every status, zeros included, so a script need not
// test for a missing key). "objects" is [] when no object differs.
func (r Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		From:     r.From,
		To:       r.To,
		Compared: r.Compared,
		Drift:    r.Drift(),
		Summary:  map[Status]int{},
		Entries:  r.Entries,
		Notes:    r.Notes,
	}
	if out.Entries == nil {
		out.Entries = []Entry{}
	}
	counts := r.Counts()
	for _, s := range statuses() {
		out.Summary[s] = counts[s]
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Diffs hold "<", ">" and "&" (placeholders, YAML); \u003c helps no one.
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
