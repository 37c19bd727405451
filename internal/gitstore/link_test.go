package gitstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// outside is a folder outside the repository, holding one file whose
// content must never change; untouched fails the test if anything in it
// was written, overwritten or removed.
func outside(t *testing.T) (dir string, untouched func()) {
	t.Helper()
	dir = t.TempDir()
	victim := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, func() {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("files outside the repository: %v, want only x.yaml", names)
		}
		if data, err := os.ReadFile(victim); string(data) != "precious\n" {
			t.Errorf("the file outside the repository holds %q, %v", data, err)
		}
	}
}

// wantLink fails unless err is one line that is a *LinkError naming p.
func wantLink(t *testing.T, what string, err error, p string) {
	t.Helper()
	var link *LinkError
	if !errors.As(err, &link) || link.Path != p || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s = %v, want one line saying %s is a link", what, err, p)
	}
}

func TestLinksInTheWorktreeAreRefusedAndNeverFollowed(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name   string
		prefix string
		link   string // repository path made a link to the outside folder
		file   bool   // link to the outside file rather than the folder
		change string // the file a commit then writes, relative to the prefix
	}{
		{"a linked folder kubesnap writes in", "", "namespaces/a/configmaps", false, "namespaces/a/configmaps/x.yaml"},
		{"a linked folder for a new namespace", "", "namespaces/b", false, "namespaces/b/secrets/s.yaml"},
		{"a linked file kubesnap overwrites", "", "namespaces/a/configmaps/x.yaml", true, "namespaces/a/configmaps/x.yaml"},
		{"a linked folder above the prefix", "clusters/east", "clusters", false, "namespaces/a/configmaps/x.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			r := open(t, dir, Options{Prefix: c.prefix})
			commit(t, r, "c1\n", add("namespaces/a/configmaps/x.yaml", "x: 1\n"), add("namespaces/a/configmaps/y.yaml", "y: 1\n"))
			out, untouched := outside(t)
			target := out
			if c.file {
				target = filepath.Join(out, "x.yaml")
			}
			file := filepath.Join(dir, filepath.FromSlash(c.link))
			if err := os.RemoveAll(file); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, file); err != nil {
				t.Fatal(err)
			}

			_, err := r.LocalEdits()
			wantLink(t, "LocalEdits", err, c.link)
			// Stage writes ahead, best effort: it must not write through
			// the link either.
			r.Stage(c.change, []byte("x: 2\n"))
			_, err = r.Commit(ctx, []snapsync.Change{{Op: snapsync.Modified, Path: c.change, Data: []byte("x: 2\n")}}, "c2\n")
			var link *LinkError
			if !errors.As(err, &link) || link.Path != c.link {
				t.Errorf("Commit = %v, want the link %s named", err, c.link)
			}
			if !c.file && strings.HasPrefix(r.full("namespaces/a/configmaps/x.yaml"), c.link+"/") {
				_, err = r.Commit(ctx, []snapsync.Change{{Op: snapsync.Deleted, Path: "namespaces/a/configmaps/x.yaml"}}, "c3\n")
				if !errors.As(err, &link) || link.Path != c.link {
					t.Errorf("Commit of a deletion = %v, want the link %s named", err, c.link)
				}
			}
			// Opened again (the recovery after the failed commits), the
			// repository still refuses the link, and wrote nothing out.
			_, err = Open(dir, Options{Prefix: c.prefix})
			wantLink(t, "Open after a failed commit", err, c.link)
			untouched()
		})
	}
}

func TestLinksAndSubmodulesInARevisionAreRefused(t *testing.T) {
	dir := t.TempDir()
	gitCLI(t, dir, "init", "--quiet", "--initial-branch=main")
	out, untouched := outside(t)
	for _, p := range []string{"namespaces/a/configmaps", "cluster"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "namespaces/a/configmaps/x.yaml"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(dir, "namespaces/b")); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "--quiet", "-m", "a link")
	linkCommit := rev(t, dir, "HEAD")
	gitCLI(t, dir, "rm", "--quiet", "namespaces/b")
	// A submodule: a gitlink entry, mode 160000.
	gitCLI(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+linkCommit+",cluster/sub")
	gitCLI(t, dir, "commit", "--quiet", "-m", "a submodule")

	r, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ rev, path string }{{"HEAD", "cluster/sub"}, {"HEAD~1", "namespaces/b"}} {
		v, err := r.At(tt.rev)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Files(t.Context())
		wantLink(t, "Files at "+tt.rev, err, tt.path)
	}
	// Under a prefix, a link on the way to it.
	r, err = Open(dir, Options{ReadOnly: true, Prefix: "namespaces/b/deeper"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.At("HEAD~1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Files(t.Context())
	wantLink(t, "Files under a linked prefix", err, "namespaces/b")
	// A writer refuses the branch before writing anything.
	_, err = Open(dir, Options{})
	if err == nil {
		if _, err = open(t, dir, Options{}).LocalEdits(); err == nil {
			t.Error("a writer takes a branch with a submodule")
		}
	}
	untouched()
}

func TestALinkPushedToTheRemoteIsRefusedBeforeAnythingMoves(t *testing.T) {
	for _, c := range []struct{ name, link string }{
		{"a linked folder", "east/namespaces/b"},
		{"a linked file", "east/namespaces/a/configmaps/x.yaml"},
		{"a linked prefix", "east"},
	} {
		t.Run(c.name, func(t *testing.T) {
			remote := bareRemote(t)
			dir := filepath.Join(t.TempDir(), "clone")
			r := open(t, dir, Options{Prefix: "east"})
			setRemote(t, r, Remote{URL: remote})
			commit(t, r, "ours\n", add("namespaces/a/configmaps/x.yaml", "x: 1\n"))
			if _, _, err := r.Push(t.Context()); err != nil {
				t.Fatal(err)
			}
			before := rev(t, dir, "HEAD")

			out, untouched := outside(t)
			other := cloneRemote(t, remote)
			file := filepath.Join(other.dir, filepath.FromSlash(c.link))
			if err := os.RemoveAll(file); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, file); err != nil {
				t.Fatal(err)
			}
			gitCLI(t, other.dir, "add", "-A", ".")
			gitCLI(t, other.dir, "commit", "--quiet", "-m", "a link")
			gitCLI(t, other.dir, "push", "--quiet", "origin", "HEAD:main")

			// Our next commit writes where the link points, then pushes:
			// the rebase onto the remote's commit must refuse it.
			commit(t, r, "ours again\n", add("namespaces/b/secrets/s.yaml", "s\n"), snapsync.Change{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: 2\n")})
			_, _, err := r.Push(t.Context())
			wantLink(t, "Push", err, c.link)
			_, _, err = r.Pull(t.Context())
			wantLink(t, "Pull", err, c.link)
			if got := rev(t, dir, "HEAD~1"); got != before {
				t.Errorf("the branch moved to %s", got)
			}
			clean(t, dir)
			untouched()
			// The repository is not wedged: opened again, it works on
			// its own commits.
			r = open(t, dir, Options{Prefix: "east"})
			if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
				t.Errorf("LocalEdits after the refusal = %v, %v", edits, err)
			}
		})
	}
}

func TestCheckNameRefusesPathsThatLeaveTheirFolder(t *testing.T) {
	for _, p := range []string{"..", "a/../../b", "./a", "a//b", ".git/hooks/post-checkout", "x/.GIT/config", ""} {
		if err := checkName(p); err == nil {
			t.Errorf("checkName(%q) = nil", p)
		}
	}
	for _, p := range []string{"namespaces/%2E%2E/configmaps/a.yaml", ".kubesnap/coverage.yaml", "a/.gitignore"} {
		if err := checkName(p); err != nil {
			t.Errorf("checkName(%q) = %v", p, err)
		}
	}
}

func TestOpenRefusesAPathIntoGitsOwnFolder(t *testing.T) {
	for _, p := range []string{".git", ".git/hooks", "a/.GIT", "../.git/x"} {
		if _, err := Open(t.TempDir(), Options{Prefix: p}); err == nil || !strings.Contains(err.Error(), "git's own") {
			t.Errorf("Open with --path %s = %v", p, err)
		}
	}
}

// WriteFile creates a new file without looking first; a file already
// there is overwritten, shorter content truncating it, and a folder
// there is refused, naming it.
func TestWriteFileOverWhatIsThere(t *testing.T) {
	dir := t.TempDir()
	w, err := openWorkdir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close() //nolint:errcheck // test
	for _, content := range []string{"first, longer\n", "second\n"} {
		fi, err := w.WriteFile("a/b.yaml", []byte(content), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "a/b.yaml")); err != nil || string(got) != content {
			t.Fatalf("a/b.yaml holds %q (%v), want %q", got, err, content)
		}
		// The stat data the index entry takes is the file's.
		want, err := os.Lstat(filepath.Join(dir, "a/b.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		got, wantEntry := &index.Entry{}, &index.Entry{}
		fillStat(got, fi)
		fillStat(wantEntry, want)
		if fi.Size() != want.Size() || !fi.ModTime().Equal(want.ModTime()) || fi.Mode() != want.Mode() || *got != *wantEntry {
			t.Errorf("WriteFile's stat data %v %v %v %+v, the file's %v %v %v %+v", fi.Size(), fi.ModTime(), fi.Mode(), got, want.Size(), want.ModTime(), want.Mode(), wantEntry)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "a/c.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile("a/c.yaml", []byte("x\n"), 0o644); err == nil || !strings.Contains(err.Error(), "a/c.yaml") {
		t.Errorf("WriteFile over a folder = %v, want an error naming it", err)
	}
}
