package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// namesRepo is a repository git itself wrote: five commits on main, a
// branch, a tag and a remote-tracking branch.
func namesRepo(t *testing.T) (dir string, commits []string) {
	t.Helper()
	dir = t.TempDir()
	gitCLI(t, dir, "init", "-q", "-b", "main")
	for i := range 5 {
		p := filepath.Join(dir, "k", "namespaces", "shop", "configmaps", fmt.Sprintf("cm-%d.yaml", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitCLI(t, dir, "add", "-A")
		gitCLI(t, dir, "commit", "-q", "-m", fmt.Sprintf("round %d\n\nbody line", i))
		commits = append([]string{strings.TrimSpace(gitCLI(t, dir, "rev-parse", "HEAD"))}, commits...)
	}
	gitCLI(t, dir, "branch", "review", "HEAD~2")
	gitCLI(t, dir, "tag", "v1", "HEAD~1")
	gitCLI(t, dir, "update-ref", "refs/remotes/origin/main", "HEAD")
	gitCLI(t, dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	return dir, commits
}

func TestRevisionNamesListsReferencesThenRecentCommits(t *testing.T) {
	dir, commits := namesRepo(t)
	short := func(i int) string { return commits[i][:shortCommit] }
	tests := []struct {
		name  string
		opts  Options
		limit int
		want  []RevisionName
	}{
		{"the checked-out branch's three newest commits", Options{ReadOnly: true}, 3, []RevisionName{
			{Name: "main", Kind: BranchRevision}, {Name: "review", Kind: BranchRevision},
			{Name: "origin/main", Kind: RemoteBranchRevision},
			{Name: "v1", Kind: TagRevision},
			{Name: short(0), Kind: CommitRevision, Subject: "round 4"},
			{Name: short(1), Kind: CommitRevision, Subject: "round 3"},
			{Name: short(2), Kind: CommitRevision, Subject: "round 2"},
		}},
		{"--branch review, more commits asked than it has", Options{ReadOnly: true, Branch: "review"}, 10, []RevisionName{
			{Name: "main", Kind: BranchRevision}, {Name: "review", Kind: BranchRevision},
			{Name: "origin/main", Kind: RemoteBranchRevision},
			{Name: "v1", Kind: TagRevision},
			{Name: short(2), Kind: CommitRevision, Subject: "round 2"},
			{Name: short(3), Kind: CommitRevision, Subject: "round 1"},
			{Name: short(4), Kind: CommitRevision, Subject: "round 0"},
		}},
		{"a branch with no commits lists the references alone", Options{ReadOnly: true, Branch: "none"}, 10, []RevisionName{
			{Name: "main", Kind: BranchRevision}, {Name: "review", Kind: BranchRevision},
			{Name: "origin/main", Kind: RemoteBranchRevision},
			{Name: "v1", Kind: TagRevision},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := open(t, dir, tt.opts).RevisionNames(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			for _, n := range got {
				if _, err := open(t, dir, tt.opts).At(n.Name); err != nil {
					t.Errorf("At(%q), a name RevisionNames gave: %v", n.Name, err)
				}
			}
		})
	}
}

func TestRevisionNamesOfAnEmptyRepository(t *testing.T) {
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q", "-b", "main")
	got, err := open(t, dir, Options{ReadOnly: true}).RevisionNames(10)
	if err != nil || len(got) != 0 {
		t.Errorf("RevisionNames of an empty repository = %v, %v; want none", got, err)
	}
}

func TestEntriesListsFoldersAndFilesUnderThePrefix(t *testing.T) {
	dir, _ := namesRepo(t)
	v, err := open(t, dir, Options{ReadOnly: true, Prefix: "k"}).At("")
	if err != nil {
		t.Fatal(err)
	}
	dirs, files, err := v.Entries("namespaces/shop/configmaps")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"cm-0.yaml", "cm-1.yaml", "cm-2.yaml", "cm-3.yaml", "cm-4.yaml"}, files); d != "" || len(dirs) != 0 {
		t.Errorf("files (-want +got)\n%s; dirs %v", d, dirs)
	}
	if dirs, files, err = v.Entries("namespaces"); err != nil || cmp.Diff([]string{"shop"}, dirs) != "" || len(files) != 0 {
		t.Errorf("Entries(namespaces) = %v, %v, %v; want the folder shop", dirs, files, err)
	}
	if dirs, files, err = v.Entries("no/such/folder"); err != nil || len(dirs)+len(files) != 0 {
		t.Errorf("Entries of a missing folder = %v, %v, %v; want nothing", dirs, files, err)
	}
}

func TestEntriesRefusesALinkOnTheWay(t *testing.T) {
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q", "-b", "main")
	if err := os.Symlink("/etc", filepath.Join(dir, "namespaces")); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "commit", "-q", "-m", "a link")
	v, err := open(t, dir, Options{ReadOnly: true}).At("")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = v.Entries("namespaces/shop")
	var le *LinkError
	if !errors.As(err, &le) {
		t.Errorf("Entries through a link: %v; want a *LinkError", err)
	}
}
