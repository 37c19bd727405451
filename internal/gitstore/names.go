package gitstore

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// RevisionKind says what a RevisionName names.
type RevisionKind string

// The kinds of RevisionName.
const (
	BranchRevision       RevisionKind = "branch"
	RemoteBranchRevision RevisionKind = "remote branch"
	TagRevision          RevisionKind = "tag"
	CommitRevision       RevisionKind = "commit"
)

// shortCommit is how many hex digits of a commit id RevisionNames gives:
// At takes any unambiguous prefix, and twelve stay unambiguous in
// repositories of millions of objects.
const shortCommit = 12

// RevisionName is a name At takes, for shell completion.
type RevisionName struct {
	Name string
	Kind RevisionKind
	// Subject is a commit's first message line; "" for the others.
	Subject string
}

// RevisionNames lists the names a revision can be given by: the local
// branches, the remote-tracking branches and the tags, each sorted by
// name, then the newest limit commits of the branch (the checked-out
// one, or Options.Branch; HEAD when detached) along first parents,
// newest first. A repository or a branch with no commits has no commits
// to list. It reads references and limit commit objects, never trees.
func (r *Repo) RevisionNames(limit int) ([]RevisionName, error) {
	if r.repo == nil {
		return nil, nil
	}
	iter, err := r.repo.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list references of %s: %w", r.dir, err)
	}
	var branches, remotes, tags []RevisionName
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		n := ref.Name()
		switch {
		case n.IsBranch():
			branches = append(branches, RevisionName{Name: n.Short(), Kind: BranchRevision})
		case n.IsRemote() && !strings.HasSuffix(n.String(), "/HEAD"):
			remotes = append(remotes, RevisionName{Name: n.Short(), Kind: RemoteBranchRevision})
		case n.IsTag():
			tags = append(tags, RevisionName{Name: n.Short(), Kind: TagRevision})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list references of %s: %w", r.dir, err)
	}
	out := make([]RevisionName, 0, len(branches)+len(remotes)+len(tags)+limit)
	for _, l := range [][]RevisionName{branches, remotes, tags} {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
		out = append(out, l...)
	}
	v, err := r.At("")
	if err != nil {
		return out, nil // no commits yet: the references are all there is
	}
	for c := v.commit; c != nil && limit > 0; limit-- {
		subject, _, _ := strings.Cut(c.Message, "\n")
		out = append(out, RevisionName{Name: c.Hash.String()[:shortCommit], Kind: CommitRevision, Subject: subject})
		if c.NumParents() == 0 {
			break
		}
		if c, err = c.Parent(0); err != nil {
			return out, fmt.Errorf("read history of %s: %w", v.Name, err)
		}
	}
	return out, nil
}

// Entries lists what folder (relative to the prefix) holds at the
// revision: its folders and its regular files, each sorted by name;
// none when there is no such folder. A link or a submodule on the way
// is a *LinkError.
func (v *Revision) Entries(folder string) (dirs, files []string, err error) {
	full := v.repo.full(folder)
	if err := v.repo.checkAbove(v.commit, full); err != nil {
		return nil, nil, err
	}
	t, err := v.repo.subtree(v.commit, full)
	if err != nil || t == nil {
		return nil, nil, err
	}
	for _, e := range t.Entries {
		switch {
		case e.Mode == filemode.Dir:
			dirs = append(dirs, e.Name)
		case e.Mode.IsFile() && e.Mode != filemode.Symlink:
			files = append(files, e.Name)
		}
	}
	sort.Strings(dirs) // git orders a folder as if its name ended in "/"
	sort.Strings(files)
	return dirs, files, nil
}
