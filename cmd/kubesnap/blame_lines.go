package main

import (
	"errors"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// blameLine is one line of the file blamed and the change that last
// changed it.
type blameLine struct {
	commit, author string
	time           time.Time
	text           string
}

// errBlamed stops the history walk once every line has its commit.
var errBlamed = errors.New("every line blamed")

// blameFile attributes each line of data, the file p at the commit
// start, to the commit that last changed it: it walks the object's
// history back from start (gitstore.History: first parents, through a
// move between groups), and at each change matches the lines of the
// version after it with the version before (a line diff, as diff -u
// computes it); a line the change added is the change's, the others
// are followed into the older version. It stops once every line has
// its commit, at the latest at the change that created the file.
//
// go-git's Blame took 6.8 s for a file changed 100 times in 10,000
// commits (it reads the file in every commit); this walk reads only the
// trees on the file's path and the versions that differ.
func blameFile(repo *gitstore.Repo, p, start string, data []byte) ([]blameLine, error) {
	text := string(data)
	lines := splitBlameLines(text)
	out := make([]blameLine, len(lines))
	for i, l := range lines {
		out[i].text = strings.TrimSuffix(l, "\n")
	}
	// pos[i] is where line i is in the version being looked at; -1 once
	// its commit is known.
	pos := make([]int, len(lines))
	for i := range pos {
		pos[i] = i
	}
	left := len(lines)
	first := true
	err := repo.History(p, gitstore.HistoryOptions{Start: start, Contents: true}, func(c gitstore.ObjectChange) error {
		if c.AfterData == nil {
			return nil // a deletion: the file comes back in a newer change
		}
		if first && string(c.AfterData) != text {
			return errors.New("the newest change does not hold the file as the revision does")
		}
		first = false
		older := matchLines(string(c.BeforeData), string(c.AfterData))
		for i, at := range pos {
			if at < 0 {
				continue
			}
			if at >= len(older) || older[at] < 0 {
				out[i].commit, out[i].author, out[i].time = c.Commit, c.Author, c.Time
				pos[i], left = -1, left-1
				continue
			}
			pos[i] = older[at]
		}
		if left == 0 {
			return errBlamed
		}
		return nil
	})
	if err != nil && !errors.Is(err, errBlamed) {
		return nil, err
	}
	if left > 0 {
		return nil, errors.New("some lines have no commit: the history ends before the file was created (a shallow clone?)")
	}
	return out, nil
}

// matchLines maps each line of after to its line in before, -1 for a
// line the change added or changed.
func matchLines(before, after string) []int {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // the same result on any machine
	a, b, _ := dmp.DiffLinesToChars(before, after)
	var out []int
	i := 0 // lines of before passed
	for _, d := range dmp.DiffMain(a, b, false) {
		n := len([]rune(d.Text)) // a rune a line
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			for k := range n {
				out = append(out, i+k)
			}
			i += n
		case diffmatchpatch.DiffDelete:
			i += n
		case diffmatchpatch.DiffInsert:
			for range n {
				out = append(out, -1)
			}
		}
	}
	return out
}

// splitBlameLines splits s after each "\n"; the last line lacks it when
// s does not end in one.
func splitBlameLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n') + 1
		if i == 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
