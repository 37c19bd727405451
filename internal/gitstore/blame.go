package gitstore

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/kubesnap/kubesnap/canonical"
)

// BlameLine is one line of a file with the commit that last changed it.
type BlameLine struct {
	Commit string    `json:"commit"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// Blame returns every line of the file p (relative to the prefix) in the
// revision with the commit that last changed it, as git blame finds it
// (go-git's Blame, through every parent). The file is checked as
// ReadObject checks it first, so a link, a folder or an oversized file
// is refused before any history is read. data is the file as the
// revision holds it.
func (v *Revision) Blame(p string) (lines []BlameLine, data []byte, err error) {
	h, err := v.objectEntry(p)
	if err != nil {
		return nil, nil, err
	}
	if data, err = v.repo.ReadBlob(h.String()); err != nil {
		return nil, nil, err
	}
	res, err := git.Blame(v.commit, v.repo.full(p))
	if err != nil {
		return nil, nil, fmt.Errorf("blame %s at %s: %w", canonical.Shown(p), v.Name, err)
	}
	lines = make([]BlameLine, len(res.Lines))
	for i, l := range res.Lines {
		lines[i] = BlameLine{Commit: l.Hash.String(), Time: l.Date.UTC(), Author: l.AuthorName, Text: l.Text}
	}
	return lines, data, nil
}
