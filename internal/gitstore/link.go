package gitstore

import (
	"fmt"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
)

// LinkError says a path kubesnap must write or read is a symbolic link
// or a submodule, in the worktree or in a revision, which it refuses to
// follow.
type LinkError struct {
	Path string // repository path
	// Submodule is set for a gitlink (mode 160000) in a revision.
	Submodule bool
	// Where is "the worktree" or the revision's name.
	Where string
}

func (e *LinkError) Error() string {
	what := "a symbolic link"
	if e.Submodule {
		what = "a submodule"
	}
	name := canonical.Shown(e.Path)
	fix := "remove it from the branch (git rm " + name + ", commit, push)"
	if e.Where == "the worktree" {
		fix = "remove it"
	}
	return fmt.Sprintf("%s in %s is %s: kubesnap reads and writes only regular files and folders inside the repository, and never follows a link; %s and run again", name, e.Where, what, fix)
}

// checkName refuses a repository path kubesnap must not write: one with
// an empty, "." or ".." segment (leaving its folder), or a ".git" one
// (git's own files: hooks run code).
func checkName(name string) error {
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, ".git") {
			return fmt.Errorf("%q is not a path kubesnap writes in a worktree", name) // %q: never raw
		}
	}
	return nil
}
