package gitstore

import (
	"context"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

func TestCommitAsNamesTheAuthorAndKeepsTheCommitter(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := r.CommitAs(ctx, []snapsync.Change{{Op: snapsync.Added, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("a: 1\n")}}, "Add x\n", snapsync.Author{Name: "alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c := readCommit(t, dir, id)
	if c.Author.Name != "alice" || c.Author.Email != "alice@example.com" {
		t.Errorf("author = %s <%s>, want alice <alice@example.com>", c.Author.Name, c.Author.Email)
	}
	if c.Committer.Name != "kubesnap" {
		t.Errorf("committer = %s, want kubesnap", c.Committer.Name)
	}
}

// A user name is whatever the cluster's identity provider said: it must
// not end the author's name early or add a header to the commit.
func TestCommitAsMakesAHostileUserNameSafe(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hostile := "mallory <evil@x>\ncommitter forged <f@x> 0 +0000\n" + strings.Repeat("m", 1000)
	id, err := r.CommitAs(context.Background(), []snapsync.Change{{Op: snapsync.Added, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("a: 1\n")}}, "Add x\n", snapsync.Author{Name: hostile})
	if err != nil {
		t.Fatal(err)
	}
	c := readCommit(t, dir, id)
	for _, s := range []string{c.Author.Name, c.Author.Email} {
		if strings.ContainsAny(s, "<>\n") || len(s) > maxIdentity {
			t.Errorf("author part %q is not safe", s)
		}
	}
	if c.Committer.Name != "kubesnap" || !strings.HasPrefix(c.Author.Name, "mallory _evil@x__committer") {
		t.Errorf("author %q, committer %q", c.Author.Name, c.Committer.Name)
	}
}

func readCommit(t *testing.T, dir, id string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(id))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
