package gitstore

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/internal/testenv"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// bareRemote makes a bare repository with branch main and the given
// config (key, value pairs).
func bareRemote(t *testing.T, config ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "remote.git")
	gitCLI(t, filepath.Dir(dir), "init", "--quiet", "--bare", "--initial-branch=main", dir)
	gitCLI(t, dir, "config", "core.logAllRefUpdates", "always") // a reflog to check no push forced
	for i := 0; i+1 < len(config); i += 2 {
		gitCLI(t, dir, "config", config[i], config[i+1])
	}
	return dir
}

// writer is another writer: a git CLI clone of the remote.
type writer struct {
	t   *testing.T
	dir string
}

func cloneRemote(t *testing.T, remote string) *writer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "other")
	gitCLI(t, filepath.Dir(dir), "clone", "--quiet", remote, dir)
	return &writer{t: t, dir: dir}
}

// commit writes files (path → content, "" deletes) and pushes them after
// pulling; it returns the new commit.
func (w *writer) commit(files map[string]string, msg string) string {
	w.t.Helper()
	if gitCLIOK(w.dir, "rev-parse", "--verify", "--quiet", "origin/main") {
		gitCLI(w.t, w.dir, "pull", "--quiet", "--rebase", "origin", "main")
	}
	for p, data := range files {
		file := filepath.Join(w.dir, filepath.FromSlash(p))
		if data == "" {
			gitCLI(w.t, w.dir, "rm", "--quiet", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			w.t.Fatal(err)
		}
		gitCLI(w.t, w.dir, "add", p)
	}
	gitCLI(w.t, w.dir, "commit", "--quiet", "-m", msg)
	gitCLI(w.t, w.dir, "push", "--quiet", "origin", "HEAD:main")
	return strings.TrimSpace(gitCLI(w.t, w.dir, "rev-parse", "HEAD"))
}

func gitCLIOK(dir string, args ...string) bool {
	return exec.Command("git", append([]string{"-C", dir}, args...)...).Run() == nil
}

func setRemote(t *testing.T, r *Repo, rem Remote) {
	t.Helper()
	if err := r.SetRemote(rem); err != nil {
		t.Fatal(err)
	}
	r.remote.backoff = time.Millisecond // keep failing tests fast
}

func commit(t *testing.T, r *Repo, msg string, changes ...snapsync.Change) string {
	t.Helper()
	id, err := r.Commit(t.Context(), changes, msg)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func rev(t *testing.T, dir, name string) string {
	t.Helper()
	return strings.TrimSpace(gitCLI(t, dir, "rev-parse", name))
}

// clean fails the test when git status in dir is not empty.
func clean(t *testing.T, dir string) {
	t.Helper()
	if s := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); s != "" {
		t.Errorf("git status in %s:\n%s", filepath.Base(dir), s)
	}
}

// neverForced checks from the remote's reflog that every move of main was
// a fast-forward.
func neverForced(t *testing.T, remote string) {
	t.Helper()
	log := strings.Fields(gitCLI(t, remote, "reflog", "show", "--format=%H", "refs/heads/main"))
	for i := 0; i+1 < len(log); i++ {
		if !gitCLIOK(remote, "merge-base", "--is-ancestor", log[i+1], log[i]) {
			t.Errorf("main moved from %s to %s, not a fast-forward", log[i+1], log[i])
		}
	}
}

func TestPushToABareRepository(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(dir string) string
	}{
		{"by file URL", func(dir string) string { return "file://" + dir }},
		{"by plain path", func(dir string) string { return dir }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote := bareRemote(t, "receive.denyNonFastForwards", "true")
			dir := t.TempDir()
			r := open(t, dir, Options{})
			setRemote(t, r, Remote{URL: tc.url(remote)})
			if rebased, _, err := r.Push(t.Context()); err != nil || rebased {
				t.Fatalf("Push of an empty branch = %v, %v", rebased, err)
			}
			first := commit(t, r, "first\n", add("namespaces/a/configmaps/x.yaml", "x: 1\n"), add("cluster/namespaces/a.yaml", "a\n"))
			if rebased, conflicts, err := r.Push(t.Context()); err != nil || rebased || conflicts != nil {
				t.Fatalf("first Push = %v, %v, %v", rebased, conflicts, err)
			}
			if got := rev(t, remote, "main"); got != first {
				t.Errorf("remote main = %s, want %s", got, first)
			}
			second := commit(t, r, "second\n", snapsync.Change{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: 2\n")})
			third := commit(t, r, "third\n", snapsync.Change{Op: snapsync.Deleted, Path: "cluster/namespaces/a.yaml"})
			if _, _, err := r.Push(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := rev(t, remote, "main"); got != third {
				t.Errorf("remote main = %s, want %s", got, third)
			}
			if got := rev(t, remote, "main~1"); got != second {
				t.Errorf("remote main~1 = %s, want %s", got, second)
			}
			if _, _, err := r.Push(t.Context()); err != nil {
				t.Errorf("Push with nothing new = %v", err)
			}
			if got := rev(t, dir, "refs/remotes/kubesnap/main"); got != third {
				t.Errorf("tracking ref = %s, want %s", got, third)
			}
			gitCLI(t, remote, "fsck", "--strict")
			gitCLI(t, dir, "fsck", "--strict")
			neverForced(t, remote)
		})
	}
}

func TestPushRebasesOverAnotherWriterAndNeverForces(t *testing.T) {
	remote := bareRemote(t, "receive.denyNonFastForwards", "true", "receive.denyDeletes", "true")
	ctx := t.Context()
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "east"})
	setRemote(t, r, Remote{URL: remote})
	commit(t, r, "start\n", add("namespaces/a/configmaps/x.yaml", "x: 0\n"))
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	other := cloneRemote(t, remote)

	const rounds, conflictRound = 20, 7
	var theirs []string
	ours := map[string]string{} // repository path → content we last wrote
	var wantConflicts []string
	for i := range rounds {
		// Our commit, not pushed yet.
		p := fmt.Sprintf("namespaces/a/configmaps/c%02d.yaml", i)
		changes := []snapsync.Change{add(p, fmt.Sprintf("ours: %d\n", i))}
		ours["east/"+p] = fmt.Sprintf("ours: %d\n", i)
		if i == conflictRound {
			changes = append(changes, snapsync.Change{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: ours\n")})
			ours["east/namespaces/a/configmaps/x.yaml"] = "x: ours\n"
		}
		commit(t, r, fmt.Sprintf("ours %d\n", i), changes...)
		if i == 3 {
			if err := r.Tag("snapshot/round-3"); err != nil {
				t.Fatal(err)
			}
		}
		// Meanwhile, the other writer pushes: mostly outside our prefix,
		// once into a file of ours.
		files := map[string]string{fmt.Sprintf("west/cluster/namespaces/w%02d.yaml", i): fmt.Sprintf("theirs: %d\n", i)}
		if i == conflictRound {
			files["east/namespaces/a/configmaps/x.yaml"] = "x: theirs\n"
			wantConflicts = []string{"namespaces/a/configmaps/x.yaml"}
		}
		if i == 12 {
			files["west/cluster/namespaces/w00.yaml"] = "" // they delete a file
		}
		theirs = append(theirs, other.commit(files, fmt.Sprintf("theirs %d", i)))

		rebased, conflicts, err := r.Push(ctx)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if !rebased {
			t.Errorf("round %d: Push did not report a rebase over the other writer's commit", i)
		}
		if i != conflictRound {
			wantConflicts = nil
		}
		if diff := cmp.Diff(wantConflicts, conflicts); diff != "" {
			t.Errorf("round %d: conflicts (-want +got):\n%s", i, diff)
		}
		if got, want := rev(t, remote, "main"), rev(t, dir, "main"); got != want {
			t.Errorf("round %d: remote main = %s, local %s", i, got, want)
		}
		clean(t, dir)
	}
	for i, c := range theirs {
		if !gitCLIOK(remote, "merge-base", "--is-ancestor", c, "main") {
			t.Errorf("their commit %d (%s) is not in the remote branch", i, c)
		}
	}
	for p, want := range ours {
		if got := gitCLI(t, remote, "show", "main:"+p); got != want {
			t.Errorf("%s at the remote head = %q, want %q", p, got, want)
		}
	}
	// The worktree holds the other writer's files too, and their deletion.
	if data, err := os.ReadFile(filepath.Join(dir, "west/cluster/namespaces/w19.yaml")); err != nil || string(data) != "theirs: 19\n" {
		t.Errorf("their file in our worktree = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "west/cluster/namespaces/w00.yaml")); !os.IsNotExist(err) {
		t.Errorf("the file they deleted is still in our worktree: %v", err)
	}
	// The tag followed its commit to the replacement in the remote history.
	tag := rev(t, dir, "snapshot/round-3")
	if !gitCLIOK(remote, "merge-base", "--is-ancestor", tag, "main") {
		t.Errorf("tag snapshot/round-3 (%s) is not in the remote branch", tag)
	}
	if got := gitCLI(t, dir, "log", "-1", "--format=%s", tag); got != "ours 3\n" {
		t.Errorf("tag snapshot/round-3 points at %q", got)
	}
	if got := strings.TrimSpace(gitCLI(t, remote, "rev-list", "--count", "--merges", "main")); got != "0" {
		t.Errorf("%s merge commits in the remote branch, want a linear history", got)
	}
	neverForced(t, remote)
	gitCLI(t, remote, "fsck", "--strict")
	gitCLI(t, dir, "fsck", "--strict")
	if edits, err := open(t, dir, Options{Prefix: "east"}).LocalEdits(); err != nil || len(edits) != 0 {
		t.Errorf("LocalEdits after the rebases = %v, %v", edits, err)
	}
}

func TestPullIntoAnEmptyRepository(t *testing.T) {
	remote := bareRemote(t)
	other := cloneRemote(t, remote)
	other.commit(map[string]string{
		"east/namespaces/a/configmaps/x.yaml": "x\n",
		"west/cluster/namespaces/b.yaml":      "b\n",
		"README.md":                           "hello\n",
	}, "from elsewhere")
	gitCLI(t, other.dir, "update-index", "--chmod=+x", "README.md")
	if err := os.Symlink("README.md", filepath.Join(other.dir, "link")); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, other.dir, "add", "link")
	gitCLI(t, other.dir, "commit", "--quiet", "-m", "modes")
	gitCLI(t, other.dir, "push", "--quiet", "origin", "HEAD:main")
	head := rev(t, other.dir, "HEAD")

	dir := filepath.Join(t.TempDir(), "clone") // as on an emptyDir
	r := open(t, dir, Options{Prefix: "east"})
	setRemote(t, r, Remote{URL: remote})
	moved, conflicts, err := r.Pull(t.Context())
	if err != nil || !moved || conflicts != nil {
		t.Fatalf("Pull = %v, %v, %v", moved, conflicts, err)
	}
	if got := rev(t, dir, "HEAD"); got != head {
		t.Errorf("HEAD = %s, want %s", got, head)
	}
	clean(t, dir)
	gitCLI(t, dir, "fsck", "--strict")
	files, err := r.Files(t.Context())
	if err != nil || len(files) != 1 {
		t.Errorf("Files after Pull = %v, %v", files, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "README.md")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("executable file checked out as %v, %v", fi, err)
	}
	// Pull again: nothing to do.
	if moved, _, err := r.Pull(t.Context()); err != nil || moved {
		t.Errorf("second Pull = %v, %v", moved, err)
	}
	// Our commit on top: Pull leaves it; Push sends it, the other writer
	// sees it.
	commit(t, r, "ours\n", add("namespaces/a/configmaps/y.yaml", "y\n"))
	if moved, _, err := r.Pull(t.Context()); err != nil || moved {
		t.Errorf("Pull while ahead = %v, %v", moved, err)
	}
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, other.dir, "pull", "--quiet", "origin", "main")
	if _, err := os.Stat(filepath.Join(other.dir, "east/namespaces/a/configmaps/y.yaml")); err != nil {
		t.Errorf("the other writer does not get our file: %v", err)
	}
}

func TestPullIntoABareRepository(t *testing.T) {
	remote := bareRemote(t)
	other := cloneRemote(t, remote)
	head := other.commit(map[string]string{"east/cluster/namespaces/a.yaml": "a\n"}, "one")
	dir := filepath.Join(t.TempDir(), "bare")
	r := open(t, dir, Options{Bare: true, Prefix: "east"})
	setRemote(t, r, Remote{URL: "file://" + remote})
	if moved, _, err := r.Pull(t.Context()); err != nil || !moved {
		t.Fatalf("Pull = %v, %v", moved, err)
	}
	if got := rev(t, dir, "main"); got != head {
		t.Errorf("main = %s, want %s", got, head)
	}
	if _, err := os.Stat(filepath.Join(dir, "east")); !os.IsNotExist(err) {
		t.Errorf("a bare repository got a worktree file: %v", err)
	}
	commit(t, r, "ours\n", add("cluster/namespaces/b.yaml", "b\n"))
	other.commit(map[string]string{"west/x": "x\n"}, "two")
	if rebased, conflicts, err := r.Push(t.Context()); err != nil || !rebased || conflicts != nil {
		t.Fatalf("Push = %v, %v, %v", rebased, conflicts, err)
	}
	gitCLI(t, dir, "fsck", "--strict")
	gitCLI(t, remote, "fsck", "--strict")
	if got := gitCLI(t, remote, "ls-tree", "-r", "--name-only", "main"); got != "east/cluster/namespaces/a.yaml\neast/cluster/namespaces/b.yaml\nwest/x\n" {
		t.Errorf("remote tree:\n%s", got)
	}
}

func TestPullWhenTheRemoteHasNoBranch(t *testing.T) {
	remote := bareRemote(t)
	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: remote})
	if moved, conflicts, err := r.Pull(t.Context()); err != nil || moved || conflicts != nil {
		t.Errorf("Pull from an empty remote = %v, %v, %v", moved, conflicts, err)
	}
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"a": "a\n"}, "on main")
	gitCLI(t, other.dir, "push", "--quiet", "origin", "HEAD:refs/heads/elsewhere")
	r = open(t, dir, Options{Branch: "mine"})
	setRemote(t, r, Remote{URL: remote})
	if moved, _, err := r.Pull(t.Context()); err != nil || moved {
		t.Errorf("Pull of a branch the remote lacks = %v, %v", moved, err)
	}
}

func TestPullRebasesADivergedBranch(t *testing.T) {
	remote := bareRemote(t)
	ctx := t.Context()
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "east"})
	setRemote(t, r, Remote{URL: remote})
	commit(t, r, "base\n", add("namespaces/a/configmaps/x.yaml", "x: 0\n"), add("namespaces/a/configmaps/gone.yaml", "g\n"))
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	other := cloneRemote(t, remote)
	mine := commit(t, r, "mine\n",
		snapsync.Change{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: ours\n")},
		add("namespaces/a/configmaps/ours.yaml", "o\n"))
	if err := r.Tag("snapshot/t1"); err != nil {
		t.Fatal(err)
	}
	theirs := other.commit(map[string]string{
		"east/namespaces/a/configmaps/x.yaml":    "x: theirs\n",
		"east/namespaces/a/configmaps/gone.yaml": "",
		"west/cluster/namespaces/w.yaml":         "w\n",
	}, "theirs")

	moved, conflicts, err := r.Pull(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Error("Pull of a diverged branch did not move it")
	}
	if diff := cmp.Diff([]string{"namespaces/a/configmaps/x.yaml"}, conflicts); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
	if got := rev(t, dir, "main~1"); got != theirs {
		t.Errorf("main~1 = %s, want their commit %s", got, theirs)
	}
	if got := gitCLI(t, dir, "log", "-1", "--format=%s%n%an", "main"); got != "mine\nkubesnap\n" {
		t.Errorf("replayed commit = %q", got)
	}
	if rev(t, dir, "main") == mine {
		t.Error("our commit was not replayed")
	}
	if got, want := rev(t, dir, "snapshot/t1"), rev(t, dir, "main"); got != want {
		t.Errorf("tag = %s, want the replayed commit %s", got, want)
	}
	want := map[string]string{"east/namespaces/a/configmaps/x.yaml": "x: ours\n", "east/namespaces/a/configmaps/ours.yaml": "o\n", "west/cluster/namespaces/w.yaml": "w\n"}
	for p, data := range want {
		if got := gitCLI(t, dir, "show", "main:"+p); got != data {
			t.Errorf("%s = %q, want %q", p, got, data)
		}
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != data {
			t.Errorf("worktree %s = %q, %v", p, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "east/namespaces/a/configmaps/gone.yaml")); !os.IsNotExist(err) {
		t.Errorf("file deleted by the other writer is still here: %v", err)
	}
	clean(t, dir)
	gitCLI(t, dir, "fsck", "--strict")
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	neverForced(t, remote)
}

func TestPullRefusesToOverwriteALocalEdit(t *testing.T) {
	remote := bareRemote(t)
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"notes.txt": "v1\n"}, "v1")
	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: remote})
	if _, _, err := r.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	other.commit(map[string]string{"notes.txt": "v2\n"}, "v2")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("my edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := rev(t, dir, "main")
	_, _, err := r.Pull(t.Context())
	if err == nil || !strings.Contains(err.Error(), "notes.txt has local changes") {
		t.Errorf("Pull over a local edit = %v", err)
	}
	if got := rev(t, dir, "main"); got != before {
		t.Errorf("the branch moved to %s although Pull failed", got)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(data) != "my edit\n" {
		t.Errorf("the local edit was overwritten: %q", data)
	}
}

func TestOpenFinishesAnInterruptedPull(t *testing.T) {
	remote := bareRemote(t)
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"a/x.yaml": "x1\n", "a/y.yaml": "y\n"}, "one")
	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: remote})
	if _, _, err := r.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	old := rev(t, dir, "main")
	other.commit(map[string]string{"a/x.yaml": "x2\n", "a/y.yaml": "", "b/z.yaml": "z\n"}, "two")
	// Crash after the branch moved, before any file was written.
	theirs, err := r.fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.journalPath(), []byte(journalMovedFrom+old+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "update-ref", "refs/heads/main", theirs.String())

	open(t, dir, Options{})
	clean(t, dir)
	if _, err := os.Stat(r.journalPath()); !os.IsNotExist(err) {
		t.Errorf("journal left behind: %v", err)
	}
}

func TestTagsArePushedAndDeleted(t *testing.T) {
	remote := bareRemote(t)
	ctx := t.Context()
	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: remote})
	first := commit(t, r, "c1\n", add("a.yaml", "a\n"))
	for _, n := range []string{"snapshot/1", "other"} {
		if err := r.Tag(n); err != nil {
			t.Fatal(err)
		}
	}
	// The tag goes before the branch: its commit travels with it.
	if err := r.PushTags(ctx, "snapshot/1"); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, remote, "refs/tags/snapshot/1"); got != first {
		t.Errorf("remote tag = %s, want %s", got, first)
	}
	gitCLI(t, remote, "fsck", "--strict")
	commit(t, r, "c2\n", add("b.yaml", "b\n"))
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("snapshot/2"); err != nil {
		t.Fatal(err)
	}
	if err := r.PushTags(ctx, "snapshot/1", "snapshot/2"); err != nil {
		t.Fatalf("PushTags with one tag there already = %v", err)
	}
	tags, err := r.Tags("snapshot/")
	if diff := cmp.Diff([]string{"snapshot/1", "snapshot/2"}, tags); err != nil || diff != "" {
		t.Errorf("Tags (-want +got):\n%s %v", diff, err)
	}
	if err := r.DeleteTags(ctx, "snapshot/1", "never-there"); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, remote, "tag", "--list"); got != "snapshot/2\n" {
		t.Errorf("remote tags after DeleteTags = %q", got)
	}
	if tags, _ := r.Tags(""); !cmp.Equal(tags, []string{"other", "snapshot/2"}) {
		t.Errorf("local tags after DeleteTags = %v", tags)
	}
	// Deleting again (after a failure, say) is fine.
	if err := r.DeleteTags(ctx, "snapshot/1"); err != nil {
		t.Errorf("second DeleteTags = %v", err)
	}
	if err := r.DeleteTag("snapshot/1"); err != nil {
		t.Errorf("DeleteTag of a missing tag = %v", err)
	}
	// A tag the remote has at another commit is never moved.
	gitCLI(t, remote, "tag", "taken", first)
	if err := r.Tag("taken"); err != nil {
		t.Fatal(err)
	}
	if err := r.PushTags(ctx, "taken"); err == nil || !strings.Contains(err.Error(), "not moved") {
		t.Errorf("PushTags over a remote tag elsewhere = %v", err)
	}
	if err := r.PushTags(ctx, "nonesuch"); err == nil || !strings.Contains(err.Error(), "no such tag") {
		t.Errorf("PushTags of a missing tag = %v", err)
	}
}

func TestRemoteRulesAreReportedNotRetriedForever(t *testing.T) {
	t.Run("tag deletes denied", func(t *testing.T) {
		// receive.denyDeletes covers branches only; a hook guards tags.
		remote := bareRemote(t, "receive.denyDeletes", "true")
		hook := filepath.Join(remote, "hooks", "update")
		if err := os.WriteFile(hook, []byte("#!/bin/sh\ncase $3 in 0000000000000000000000000000000000000000) echo no deleting $1 >&2; exit 1;; esac\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := open(t, t.TempDir(), Options{})
		setRemote(t, r, Remote{URL: remote})
		commit(t, r, "c\n", add("a.yaml", "a\n"))
		if err := r.Tag("t"); err != nil {
			t.Fatal(err)
		}
		if err := r.PushTags(t.Context(), "t"); err != nil {
			t.Fatal(err)
		}
		err := r.DeleteTags(t.Context(), "t")
		if err == nil || !strings.Contains(err.Error(), "refused to update t") {
			t.Errorf("DeleteTags on a remote that denies deletes = %v", err)
		}
	})
	t.Run("a hook refuses", func(t *testing.T) {
		remote := bareRemote(t)
		hook := filepath.Join(remote, "hooks", "pre-receive")
		if err := os.WriteFile(hook, []byte("#!/bin/sh\necho no pushes today >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := open(t, t.TempDir(), Options{})
		setRemote(t, r, Remote{URL: remote})
		commit(t, r, "c\n", add("a.yaml", "a\n"))
		_, _, err := r.Push(t.Context())
		if err == nil || !strings.Contains(err.Error(), "refused to update main") || !strings.Contains(err.Error(), "(the remote said: no pushes today)") {
			t.Errorf("Push refused by a hook = %v", err)
		}
		// Over HTTP too, and what the remote says is one line without
		// its control characters.
		if err := os.WriteFile(hook, []byte("#!/bin/sh\nprintf 'branch main is protected\\n\\033[31mask an admin\\n' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		gitCLI(t, remote, "config", "http.receivepack", "true")
		srv := gitHTTP(t, filepath.Dir(remote), "tok")
		setRemote(t, r, Remote{URL: srv.URL + "/remote.git", Token: "tok", Username: "kubesnap"})
		_, _, err = r.Push(t.Context())
		if err == nil || !strings.HasSuffix(err.Error(), "(the remote said: branch main is protected [31mask an admin)") {
			t.Errorf("Push over HTTP refused by a hook = %v", err)
		}
	})
}

func TestPushRefusedByARaceRebasesAndRetries(t *testing.T) {
	remote := bareRemote(t, "receive.denyNonFastForwards", "true")
	r := open(t, t.TempDir(), Options{})
	setRemote(t, r, Remote{URL: remote})
	commit(t, r, "c1\n", add("a.yaml", "a\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Once, another writer moves main while our push is being received:
	// the remote refuses our update as stale.
	hook := `#!/bin/sh
unset GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH
[ -e raced ] && exit 0
touch raced
export GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@o GIT_COMMITTER_NAME=o GIT_COMMITTER_EMAIL=o@o
p=$(git rev-parse refs/heads/main)
b=$(echo raced | git hash-object -w --stdin)
t=$(printf '100644 blob %s\traced.txt\n' $b | git mktree)
c=$(git commit-tree $t -p $p -m raced)
git update-ref refs/heads/main $c $p
`
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	commit(t, r, "c2\n", add("b.yaml", "b\n"))
	rebased, _, err := r.Push(t.Context())
	if err != nil || !rebased {
		t.Fatalf("Push raced by another writer = %v, %v", rebased, err)
	}
	if got := gitCLI(t, remote, "log", "--format=%s", "main"); got != "c2\nraced\nc1\n" {
		t.Errorf("remote history:\n%s", got)
	}
	neverForced(t, remote)
	gitCLI(t, remote, "fsck", "--strict")
}

func TestUnreachableRemoteFailsWithOneClearLine(t *testing.T) {
	for _, url := range []string{"http://127.0.0.1:1/repo.git", "ssh://git@127.0.0.1:1/repo.git"} {
		t.Run(url, func(t *testing.T) {
			r := open(t, t.TempDir(), Options{})
			rem := Remote{URL: url}
			if strings.HasPrefix(url, "ssh") {
				rem.SSHKeyFile, rem.KnownHostsFile = sshFiles(t, nil)
			}
			setRemote(t, r, rem)
			r.remote.attempts = 3
			commit(t, r, "c\n", add("a.yaml", "a\n"))
			start := time.Now()
			_, _, err := r.Push(t.Context())
			if err == nil {
				t.Fatal("Push to a closed port succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "push main to "+url+": ") || !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "after 3 attempts") || strings.Contains(msg, "\n") {
				t.Errorf("error = %q", msg)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	t.Run("a canceled context stops the retries", func(t *testing.T) {
		r := open(t, t.TempDir(), Options{})
		setRemote(t, r, Remote{URL: "http://127.0.0.1:1/repo.git"})
		r.remote.backoff = time.Hour
		commit(t, r, "c\n", add("a.yaml", "a\n"))
		ctx, cancel := contextWithTimeout(t, 200*time.Millisecond)
		defer cancel()
		if _, _, err := r.Push(ctx); err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("Push with an expiring context = %v", err)
		}
	})
}

func TestSetRemoteNamesTheFlagToFix(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	key, known := sshFiles(t, nil)
	notKey := filepath.Join(files, "not-a-key")
	if err := os.WriteFile(notKey, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(files, "missing")
	for _, tc := range []struct {
		name string
		rem  Remote
		want string
	}{
		{"an empty URL", Remote{}, "give --remote a URL"},
		{"ssh without a key", Remote{URL: "ssh://git@example.com/r.git", KnownHostsFile: known}, "give --ssh-key-file"},
		{"scp-like without known hosts", Remote{URL: "git@example.com:r.git", SSHKeyFile: key}, "give --ssh-known-hosts"},
		{"a key file that is not there", Remote{URL: "git@example.com:r.git", SSHKeyFile: missing, KnownHostsFile: known}, "read --ssh-key-file: open " + missing},
		{"a key file that is no key", Remote{URL: "git@example.com:r.git", SSHKeyFile: notKey, KnownHostsFile: known}, "is not a private key"},
		{"known hosts that are not there", Remote{URL: "git@example.com:r.git", SSHKeyFile: key, KnownHostsFile: missing}, "read --ssh-known-hosts"},
		{"a token for ssh", Remote{URL: "git@example.com:r.git", Token: "s3cret-token", SSHKeyFile: key, KnownHostsFile: known}, "a token (--git-token-file) is for https remotes"},
		{"a key for https", Remote{URL: "https://example.com/r.git", SSHKeyFile: key}, "are for ssh remotes"},
		{"a path that is no repository", Remote{URL: missing}, "no https://, ssh:// or git@host:path URL"},
		{"an unsupported protocol", Remote{URL: "ftp://example.com/r.git"}, "protocol ftp is not supported"},
		{"https without a host", Remote{URL: "https:///r.git"}, "has no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := open(t, dir, Options{}).SetRemote(tc.rem)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetRemote = %v, want it to say %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret-token") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
	r := open(t, dir, Options{})
	for _, call := range []func() error{
		func() error { _, _, err := r.Push(t.Context()); return err },
		func() error { _, _, err := r.Pull(t.Context()); return err },
		func() error { return r.PushTags(t.Context(), "x") },
		func() error { return r.DeleteTags(t.Context(), "x") },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "no remote") {
			t.Errorf("call without a remote = %v", err)
		}
	}
}

func TestCredentialsNeverShowInErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Get https://user:tok3n@host/r.git: refused", "Get https://***@host/r.git: refused"},
		{"https://ghp_tok3n@github.com/o/r", "https://***@github.com/o/r"},
		{"ssh://git:pw@host/r and ssh://git@host/r", "ssh://git:***@host/r and ssh://git@host/r"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
	} {
		if got := redactURLs(tc.in); got != tc.want {
			t.Errorf("redactURLs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	rem := Remote{URL: "https://kubesnap:pa55word@example.com/r.git", Token: "tok3n"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, rem); strings.Contains(s, "pa55word") || strings.Contains(s, "tok3n") {
			t.Errorf("a Remote prints with %s as %q", format, s)
		}
	}
	// A token written into the URL, against a closed port.
	r := open(t, t.TempDir(), Options{})
	setRemote(t, r, Remote{URL: "http://tok3n-in-url@127.0.0.1:1/r.git"})
	r.remote.attempts = 1
	commit(t, r, "c\n", add("a.yaml", "a\n"))
	_, _, err := r.Push(t.Context())
	if err == nil || strings.Contains(err.Error(), "tok3n") {
		t.Errorf("error = %v", err)
	}
	if err := r.remote.fail("op", fmt.Errorf("server said: bad token tok3n-in-url")); strings.Contains(err.Error(), "tok3n") {
		t.Errorf("fail kept the token: %v", err)
	}
}

// gitHTTP serves the repositories in root over smart HTTP with the git CLI's
// http-backend, for user "kubesnap" with password token.
func gitHTTP(t *testing.T, root, token string) *httptest.Server {
	t.Helper()
	return testenv.GitHTTP(t, root, "kubesnap", token)
}

func TestPushAndPullOverHTTPWithAToken(t *testing.T) {
	const token = "glpat-Zx81-secret"
	remote := bareRemote(t, "http.receivepack", "true", "receive.denyNonFastForwards", "true")
	srv := gitHTTP(t, filepath.Dir(remote), token)
	url := srv.URL + "/remote.git"
	ctx := t.Context()

	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: url, Token: token, Username: "kubesnap"})
	head := commit(t, r, "c1\n", add("namespaces/a/configmaps/x.yaml", "x\n"))
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, remote, "main"); got != head {
		t.Errorf("remote main = %s, want %s", got, head)
	}
	if err := r.Tag("snapshot/1"); err != nil {
		t.Fatal(err)
	}
	if err := r.PushTags(ctx, "snapshot/1"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteTags(ctx, "snapshot/1"); err != nil {
		t.Fatal(err)
	}
	// Another writer pushes; we rebase over HTTP.
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"other.txt": "o\n"}, "other")
	commit(t, r, "c2\n", add("namespaces/a/configmaps/y.yaml", "y\n"))
	if rebased, _, err := r.Push(ctx); err != nil || !rebased {
		t.Fatalf("Push over HTTP after another writer = %v, %v", rebased, err)
	}
	clean(t, dir)

	fresh := filepath.Join(t.TempDir(), "fresh")
	p := open(t, fresh, Options{})
	setRemote(t, p, Remote{URL: url, Token: token, Username: "kubesnap"})
	if moved, _, err := p.Pull(ctx); err != nil || !moved {
		t.Fatalf("Pull over HTTP = %v, %v", moved, err)
	}
	if got, want := rev(t, fresh, "main"), rev(t, remote, "main"); got != want {
		t.Errorf("pulled %s, remote has %s", got, want)
	}
	clean(t, fresh)
	gitCLI(t, remote, "fsck", "--strict")

	for _, tc := range []struct {
		name string
		rem  Remote
	}{
		{"without a token", Remote{URL: url}},
		{"with a wrong token", Remote{URL: url, Token: "wrong-" + token, Username: "kubesnap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := open(t, dir, Options{})
			setRemote(t, r, tc.rem)
			commit(t, r, "c3\n", add("namespaces/a/configmaps/z.yaml", "z\n"))
			_, _, err := r.Push(ctx)
			if err == nil {
				t.Fatal("Push succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, "authentication required") || !strings.Contains(msg, "--git-token-file") || strings.Contains(msg, token) || strings.Contains(msg, "\n") {
				t.Errorf("error = %q", msg)
			}
			if _, _, err := r.Pull(ctx); err == nil || strings.Contains(err.Error(), token) {
				t.Errorf("Pull error = %v", err)
			}
		})
	}
}

// objectsIn counts the objects a repository holds, loose and packed.
func objectsIn(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(gitCLI(t, dir, "count-objects", "-v"), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		if k == "count" || k == "in-pack" {
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			n += i
		}
	}
	return n
}

// A new branch made from the remote's main (a drift branch) sends what
// main lacks, not main's history; a fresh clone fetches it the same way.
func TestNewBranchSendsOnlyWhatTheRemoteLacks(t *testing.T) {
	remote := bareRemote(t)
	other := cloneRemote(t, remote)
	for i := range 30 {
		files := map[string]string{}
		for j := range 5 {
			files[fmt.Sprintf("clusters/a/f%d-%d", i, j)] = fmt.Sprintf("%d %d\n", i, j)
		}
		other.commit(files, fmt.Sprintf("history %d", i))
	}
	before := objectsIn(t, remote)

	clone := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, filepath.Dir(clone), "clone", "--quiet", remote, clone)
	r := open(t, clone, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	setRemote(t, r, Remote{URL: remote})
	commit(t, r, "drift", modify("f0-0", "changed\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	// One commit, its root tree, clusters/, clusters/a/ and one blob.
	if sent := objectsIn(t, remote) - before; sent > 5 {
		t.Errorf("pushing a one-file drift commit sent %d objects, want at most 5", sent)
	}

	fresh := filepath.Join(t.TempDir(), "fresh")
	gitCLI(t, filepath.Dir(fresh), "clone", "--quiet", "--single-branch", "--branch", "main", remote, fresh)
	had := objectsIn(t, fresh)
	r = open(t, fresh, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	setRemote(t, r, Remote{URL: remote})
	if moved, _, err := r.Pull(t.Context()); err != nil || !moved {
		t.Fatalf("Pull = %v, %v", moved, err)
	}
	if got := objectsIn(t, fresh) - had; got > 5 {
		t.Errorf("fetching a one-file drift branch received %d objects, want at most 5", got)
	}
	fsck(t, remote)
	fsck(t, fresh)
}
