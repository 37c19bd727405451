package gitstore

import (
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// LocalEdits lists the files a person changed and did not commit: tracked
// files that differ from the branch head, staged changes, and untracked
// files in the folders kubesnap writes. kubesnap refuses to commit over
// them. It returns nothing when the branch is not checked out.
func (r *Repo) LocalEdits() ([]string, error) {
	checkedOut, err := r.checkedOut()
	if err != nil || !checkedOut {
		return nil, err
	}
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	tracked, err := r.tracked(c)
	if err != nil {
		return nil, err
	}
	w, err := r.workdir()
	if err != nil {
		return nil, err
	}
	defer r.doneWorkdir()
	idx, err := r.loadIndex()
	if err != nil {
		return nil, err
	}
	entries := make(map[string]*index.Entry, len(idx.Entries))
	var edits []string
	for _, e := range idx.Entries {
		entries[e.Name] = e
		if _, ok := tracked[e.Name]; !ok {
			edits = append(edits, e.Name) // staged new file
		}
	}
	for name, e := range tracked {
		if !regular(e.Mode) {
			continue // a link or submodule outside the prefix: not kubesnap's
		}
		changed, err := r.differs(name, e.Hash.String(), entries[name])
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, name)
		}
	}
	err = r.walkManaged(w, func(name string) error {
		if _, ok := tracked[name]; !ok && entries[name] == nil {
			edits = append(edits, name)
		}
		return nil
	})
	var link *LinkError
	if errors.As(err, &link) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("look for local edits: %w", err)
	}
	sort.Strings(edits)
	return edits, nil
}
