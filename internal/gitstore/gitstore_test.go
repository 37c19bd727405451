package gitstore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// git runs the real git in dir.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func add(p, data string) snapsync.Change {
	return snapsync.Change{Op: snapsync.Added, Path: p, Data: []byte(data)}
}

func open(t *testing.T, dir string, opts Options) *Repo {
	t.Helper()
	r, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCommitWritesOnlyChangedPathsAndKeepsStatusClean(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	ctx := t.Context()
	first, err := r.Commit(ctx, []snapsync.Change{
		add("namespaces/a/configmaps/x.yaml", "x: 1\n"),
		add("namespaces/b/configmaps/y.yaml", "y: 1\n"),
		add("cluster/namespaces/a.yaml", "a\n"),
	}, "first\n")
	if err != nil {
		t.Fatal(err)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after a commit:\n%s", s)
	}
	second, err := r.Commit(ctx, []snapsync.Change{
		{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: 2\n")},
		{Op: snapsync.Deleted, Path: "namespaces/b/configmaps/y.yaml"},
	}, "second\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "rev-parse", "HEAD"); strings.TrimSpace(got) != second {
		t.Errorf("HEAD = %s, want %s", got, second)
	}
	if got := gitCLI(t, dir, "rev-parse", "HEAD~1"); strings.TrimSpace(got) != first {
		t.Errorf("HEAD~1 = %s, want %s", got, first)
	}
	if got, want := gitCLI(t, dir, "ls-tree", "-r", "--name-only", "HEAD"), "cluster/namespaces/a.yaml\nnamespaces/a/configmaps/x.yaml\n"; got != want {
		t.Errorf("tree at HEAD:\n%s\nwant:\n%s", got, want)
	}
	// The namespace folder of the deleted file is gone from the tree and
	// from the worktree; the unchanged cluster/ subtree kept its id.
	if _, err := os.Stat(filepath.Join(dir, "namespaces/b")); !os.IsNotExist(err) {
		t.Errorf("empty folder namespaces/b left in the worktree: %v", err)
	}
	if a, b := gitCLI(t, dir, "rev-parse", "HEAD~1:cluster"), gitCLI(t, dir, "rev-parse", "HEAD:cluster"); a != b {
		t.Errorf("unchanged subtree was rewritten: %s vs %s", a, b)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after a second commit:\n%s", s)
	}
	gitCLI(t, dir, "fsck", "--strict")

	files, err := r.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cluster/namespaces/a.yaml":      r.BlobID([]byte("a\n")),
		"namespaces/a/configmaps/x.yaml": r.BlobID([]byte("x: 2\n")),
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	data, err := r.Read(ctx, "namespaces/a/configmaps/x.yaml")
	if err != nil || string(data) != "x: 2\n" {
		t.Errorf("Read = %q, %v", data, err)
	}
}

func TestPrefixAndBranchKeepClustersApart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	east := open(t, dir, Options{Prefix: "east"})
	west := open(t, dir, Options{Prefix: "west", Branch: "west"})
	if _, err := east.Commit(ctx, []snapsync.Change{add("cluster/namespaces/a.yaml", "a\n")}, "east\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := west.Commit(ctx, []snapsync.Change{add("cluster/namespaces/b.yaml", "b\n")}, "west\n"); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "ls-tree", "-r", "--name-only", "main"); got != "east/cluster/namespaces/a.yaml\n" {
		t.Errorf("main holds %q", got)
	}
	if got := gitCLI(t, dir, "ls-tree", "-r", "--name-only", "west"); got != "west/cluster/namespaces/b.yaml\n" {
		t.Errorf("west holds %q", got)
	}
	// west is not checked out: its commit must not touch the worktree.
	if _, err := os.Stat(filepath.Join(dir, "west")); !os.IsNotExist(err) {
		t.Errorf("a commit to a branch that is not checked out wrote the worktree: %v", err)
	}
	files, err := east.Files(ctx)
	if err != nil || len(files) != 1 || files["cluster/namespaces/a.yaml"] == "" {
		t.Errorf("east Files = %v, %v; want paths relative to the prefix", files, err)
	}
}

func TestOpenRefusesWhatIsNotARepository(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, Options{}); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Open(a file) = %v", err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("Open(a folder with files) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Error("Open made a repository in a folder that had files")
	}
	fresh := filepath.Join(dir, "new", "repo")
	r, err := Open(fresh, Options{})
	if err != nil {
		t.Fatalf("Open(missing folder) = %v", err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("Open made the repository before anything was committed: %v", err)
	}
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("a.yaml", "a\n")}, "c\n"); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(gitCLI(t, fresh, "symbolic-ref", "HEAD")); got != "refs/heads/main" {
		t.Errorf("new repository's HEAD = %s, want refs/heads/main", got)
	}
}

func TestLocalEditsNamesEveryKindOfEdit(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	ctx := t.Context()
	if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
		t.Fatalf("LocalEdits of an empty repository = %v, %v", edits, err)
	}
	if _, err := r.Commit(ctx, []snapsync.Change{
		add("namespaces/a/configmaps/x.yaml", "x\n"),
		add("namespaces/a/configmaps/y.yaml", "y\n"),
		add("namespaces/a/configmaps/z.yaml", "z\n"),
	}, "c\n"); err != nil {
		t.Fatal(err)
	}
	if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
		t.Fatalf("LocalEdits right after a commit = %v, %v", edits, err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("namespaces/a/configmaps/x.yaml", "edited\n")
	if err := os.Remove(filepath.Join(dir, "namespaces/a/configmaps/y.yaml")); err != nil {
		t.Fatal(err)
	}
	write("namespaces/a/configmaps/new.yaml", "new\n")
	write("notes.txt", "outside the folders kubesnap writes\n")
	write("staged.txt", "staged\n")
	gitCLI(t, dir, "add", "staged.txt")
	edits, err := r.LocalEdits()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"namespaces/a/configmaps/new.yaml", "namespaces/a/configmaps/x.yaml", "namespaces/a/configmaps/y.yaml", "staged.txt"}
	if diff := cmp.Diff(want, edits); diff != "" {
		t.Errorf("LocalEdits (-want +got):\n%s", diff)
	}
}

func TestOpenFinishesAnInterruptedWorktreeUpdate(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	ctx := t.Context()
	if _, err := r.Commit(ctx, []snapsync.Change{add("namespaces/a/configmaps/x.yaml", "x\n")}, "c1\n"); err != nil {
		t.Fatal(err)
	}
	// Simulate a crash after the branch moved but before the files were
	// written: commit with the real git into the object store only, move
	// the branch, and leave kubesnap's worktree journal.
	blob := strings.TrimSpace(gitIn(t, dir, "x: after\n", "hash-object", "-w", "--stdin"))
	tree := strings.TrimSpace(gitIn(t, dir, "100644 blob "+blob+"\tx.yaml\n", "mktree"))
	for _, p := range []string{"namespaces/a/configmaps", "namespaces/a", "namespaces"} {
		name := filepath.Base(p)
		if p == "namespaces/a/configmaps" {
			name = "configmaps"
		}
		tree = strings.TrimSpace(gitIn(t, dir, "040000 tree "+tree+"\t"+name+"\n", "mktree"))
	}
	commit := strings.TrimSpace(gitCLI(t, dir, "commit-tree", tree, "-p", "HEAD", "-m", "c2"))
	gitCLI(t, dir, "update-ref", "refs/heads/main", commit)
	if err := os.WriteFile(r.journalPath(), []byte(commit+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "namespaces/a/configmaps/x.yaml"), []byte("half-writ"), 0o644); err != nil {
		t.Fatal(err)
	}

	r = open(t, dir, Options{})
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("worktree not brought to HEAD after an interrupted update:\n%s", s)
	}
	if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
		t.Errorf("LocalEdits after recovery = %v, %v", edits, err)
	}
	if _, err := os.Stat(r.journalPath()); !os.IsNotExist(err) {
		t.Errorf("journal left behind: %v", err)
	}
}

func gitIn(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestLogCountsObjectFilesPerCommit(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	ctx := t.Context()
	id := canonical.ID{Resource: "configmaps", Namespace: "a", Name: "x"}
	if _, err := r.Commit(ctx, []snapsync.Change{
		{Op: snapsync.Added, Path: canonical.PathOf(id), Data: []byte("x\n"), ID: id},
		add(".kubesnap/coverage.yaml", "c\n"),
	}, "Add 1 object in a\n\nbody\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(ctx, []snapsync.Change{{Op: snapsync.Deleted, Path: canonical.PathOf(id)}}, "Delete 1 object in a\n"); err != nil {
		t.Fatal(err)
	}
	entries := logEntries(t, r, LogOptions{})
	var got []string
	for _, e := range entries {
		got = append(got, e.Summary+" "+strings.Repeat("*", e.Changed))
	}
	if diff := cmp.Diff([]string{"Delete 1 object in a *", "Add 1 object in a *"}, got); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
	if entries := logEntries(t, r, LogOptions{Limit: 1}); len(entries) != 1 {
		t.Errorf("Log(1) gave %d entries", len(entries))
	}
}

func TestTagRefusesToMoveATag(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	if err := r.Tag("v1"); err == nil {
		t.Error("Tag on an empty branch succeeded")
	}
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("a.yaml", "a\n")}, "c\n"); err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("v1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("v1"); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("second Tag(v1) = %v", err)
	}
}

func TestLargeCommitIsOnePackAndGitReadsIt(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	var changes []snapsync.Change
	for i := range packThreshold * 2 {
		changes = append(changes, add(fmt.Sprintf("namespaces/ns-%d/configmaps/c%03d.yaml", i%3, i), fmt.Sprintf("n: %d\n", i)))
	}
	if _, err := r.Commit(t.Context(), changes, "many\n"); err != nil {
		t.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		t.Errorf("%d packs after a commit of %d files, want 1", len(packs), len(changes))
	}
	gitCLI(t, dir, "fsck", "--strict")
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after a packed commit:\n%s", s)
	}
	if got := strings.Count(gitCLI(t, dir, "ls-files", "--stage"), "\n"); got != len(changes) {
		t.Errorf("git reads %d index entries, want %d", got, len(changes))
	}
	if got := strings.TrimSpace(gitCLI(t, dir, "show", "HEAD:namespaces/ns-1/configmaps/c001.yaml")); got != "n: 1" {
		t.Errorf("file in the pack reads %q", got)
	}
	gitCLI(t, dir, "verify-pack", strings.TrimSuffix(packs[0], ".pack")+".idx")

	// The same Repo reads the new pack at once, and a second large commit
	// on top of it makes a second pack that git reads too.
	if got, err := r.Read(t.Context(), "namespaces/ns-2/configmaps/c002.yaml"); err != nil || string(got) != "n: 2\n" {
		t.Errorf("Read of a file in the new pack = %q, %v", got, err)
	}
	for i := range changes {
		changes[i].Op, changes[i].Data = snapsync.Modified, fmt.Appendf(nil, "n: %d\nagain: true\n", i)
	}
	if _, err := r.Commit(t.Context(), changes, "again\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Read(t.Context(), "namespaces/ns-2/configmaps/c002.yaml"); err != nil || string(got) != "n: 2\nagain: true\n" {
		t.Errorf("Read after the second pack = %q, %v", got, err)
	}
	if packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.idx")); len(packs) != 2 {
		t.Errorf("%d pack indexes after two large commits, want 2", len(packs))
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/tmp_*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	gitCLI(t, dir, "fsck", "--strict")
}

// A pack that cannot be written fails the commit and leaves the branch
// where it was.
func TestFailedPackLeavesTheBranch(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	first, err := r.Commit(t.Context(), []snapsync.Change{add("cluster/namespaces/a.yaml", "a\n")}, "first\n")
	if err != nil {
		t.Fatal(err)
	}
	pack := filepath.Join(dir, ".git/objects/pack")
	if err := os.RemoveAll(pack); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	var changes []snapsync.Change
	for i := range packThreshold * 2 {
		changes = append(changes, add(fmt.Sprintf("namespaces/a/configmaps/c%03d.yaml", i), fmt.Sprintf("n: %d\n", i)))
	}
	if _, err := r.Commit(t.Context(), changes, "many\n"); err == nil || !strings.Contains(err.Error(), "write pack") {
		t.Fatalf("Commit with no pack folder = %v, want a write pack error", err)
	}
	if got := strings.TrimSpace(gitCLI(t, dir, "rev-parse", "main")); got != first {
		t.Errorf("main moved to %s after a failed commit, want %s", got, first)
	}
}

// In a worktree whose .git is a file (git init --separate-git-dir, a
// submodule), the pack goes into the folder the file points to.
func TestLargeCommitWithAGitFile(t *testing.T) {
	dir, gitDir := t.TempDir(), filepath.Join(t.TempDir(), "repo.git")
	gitCLI(t, dir, "init", "-q", "-b", "main", "--separate-git-dir", gitDir)
	r := open(t, dir, Options{})
	var changes []snapsync.Change
	for i := range packThreshold * 2 {
		changes = append(changes, add(fmt.Sprintf("namespaces/a/configmaps/c%03d.yaml", i), fmt.Sprintf("n: %d\n", i)))
	}
	if _, err := r.Commit(t.Context(), changes, "many\n"); err != nil {
		t.Fatal(err)
	}
	if packs, _ := filepath.Glob(filepath.Join(gitDir, "objects/pack/*.pack")); len(packs) != 1 {
		t.Errorf("%d packs in %s, want 1", len(packs), gitDir)
	}
	gitCLI(t, dir, "fsck", "--strict")
	if got, err := r.Read(t.Context(), "namespaces/a/configmaps/c007.yaml"); err != nil || string(got) != "n: 7\n" {
		t.Errorf("Read = %q, %v", got, err)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after the commit:\n%s", s)
	}
	if edits, err := open(t, dir, Options{}).LocalEdits(); err != nil || len(edits) != 0 {
		t.Errorf("LocalEdits after the commit = %v, %v", edits, err)
	}
}

// When the pack cannot take its name, the index that already took its
// own is removed with the temporary files: go-git fails on a pack without
// an index, and git on neither.
func TestPackThatCannotTakeItsNameLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	objects := map[plumbing.Hash]plumbing.EncodedObject{}
	for i := range 3 {
		obj := &plumbing.MemoryObject{}
		obj.SetType(plumbing.BlobObject)
		_, _ = obj.Write(fmt.Appendf(nil, "blob %d\n", i))
		objects[obj.Hash()] = obj
	}
	var buf bytes.Buffer
	_, sum, err := writePackData(&buf, objects)
	if err != nil {
		t.Fatal(err)
	}
	// A folder where the pack goes makes its rename fail.
	blocker := filepath.Join(dir, "pack-"+hex.EncodeToString(sum)+".pack")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writePack(dir, objects); err == nil {
		t.Fatal("writePack over a folder named as its pack succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 || left[0] != blocker {
		t.Errorf("files left after a failed writePack: %v", left)
	}
}

// A pack index gives every object's offset, those past 2 GiB through the
// table of large offsets; go-git's reader agrees with the encoder.
func TestPackIndexOffsetsPastTwoGiB(t *testing.T) {
	var entries []packIndexEntry
	for i, off := range []uint64{12, 1<<31 - 1, 1 << 31, 5 << 32} {
		var h plumbing.Hash
		h[0], h[19] = byte(255-i*60), byte(i)
		entries = append(entries, packIndexEntry{id: h, crc: uint32(i + 7), offset: off})
	}
	sum := make([]byte, 20)
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(encodePackIndex(entries, sum))).Decode(idx); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		off, err := idx.FindOffset(e.id)
		if err != nil || uint64(off) != e.offset {
			t.Errorf("offset of %s = %d, %v; want %d", e.id, off, err, e.offset)
		}
		crc, err := idx.FindCRC32(e.id)
		if err != nil || crc != e.crc {
			t.Errorf("CRC-32 of %s = %d, %v; want %d", e.id, crc, err, e.crc)
		}
	}
	if n, _ := idx.Count(); n != int64(len(entries)) {
		t.Errorf("index counts %d objects, want %d", n, len(entries))
	}
}

func TestIndexWithConflictsIsWrittenByGoGit(t *testing.T) {
	idx := &index.Index{Version: 2, Entries: []*index.Entry{{Name: "a", Stage: index.OurMode}}}
	if _, _, err := encodeIndex(idx); !errors.Is(err, errIndexFormat) {
		t.Errorf("encodeIndex of a conflicted index = %v, want errIndexFormat", err)
	}
}

func TestBareRepositoryGetsCommitsWithoutFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bare")
	r := open(t, dir, Options{Bare: true})
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("cluster/namespaces/a.yaml", "a\n")}, "c\n"); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(gitCLI(t, dir, "rev-parse", "--is-bare-repository")); got != "true" {
		t.Errorf("is bare = %s", got)
	}
	if got := gitCLI(t, dir, "show", "main:cluster/namespaces/a.yaml"); got != "a\n" {
		t.Errorf("file at main = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "cluster")); !os.IsNotExist(err) {
		t.Errorf("a bare repository got a worktree file: %v", err)
	}
	if edits, err := open(t, dir, Options{}).LocalEdits(); err != nil || len(edits) != 0 {
		t.Errorf("LocalEdits of a bare repository = %v, %v", edits, err)
	}
}

func TestStagedBlobsGoIntoThePack(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	var changes []snapsync.Change
	for i := range packThreshold + 1 {
		c := add(fmt.Sprintf("namespaces/a/configmaps/c%03d.yaml", i), strings.Repeat(fmt.Sprintf("line %d\n", i), i+1))
		if i%2 == 0 {
			r.Stage(c.Path, c.Data) // half staged ahead, half compressed at commit
		}
		changes = append(changes, c)
	}
	r.Stage("namespaces/a/configmaps/never.yaml", []byte("staged but never committed\n"))
	if _, err := r.Commit(t.Context(), changes, "staged\n"); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "fsck", "--strict")
	for _, i := range []int{0, 1, packThreshold} {
		c := changes[i]
		if got := gitCLI(t, dir, "show", "HEAD:"+c.Path); got != string(c.Data) {
			t.Errorf("%s reads %q, want %q", c.Path, got, c.Data)
		}
	}
	if r.packed.staged.paths != nil {
		t.Error("staged entries outlive the commit")
	}
	if _, err := os.Stat(filepath.Join(dir, "namespaces/a/configmaps/never.yaml")); !os.IsNotExist(err) {
		t.Errorf("a file staged but not committed is left in the worktree: %v", err)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after committing staged files:\n%s", s)
	}
	r.Stage("small.yaml", []byte("x\n"))
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("small.yaml", "x\n")}, "small\n"); err != nil {
		t.Fatal(err)
	}
	if r.packed.staged.paths != nil {
		t.Error("staged entries outlive a commit of loose objects")
	}
}

func TestStagedFilesAreWrittenAheadAndUndoneAfterACrash(t *testing.T) {
	ctx := t.Context()
	t.Run("in a repository with history", func(t *testing.T) {
		dir := t.TempDir()
		r := open(t, dir, Options{})
		if _, err := r.Commit(ctx, []snapsync.Change{add("namespaces/a/configmaps/x.yaml", "x: 1\n")}, "c1\n"); err != nil {
			t.Fatal(err)
		}
		r.Stage("namespaces/a/configmaps/x.yaml", []byte("x: 2\n"))
		r.Stage("namespaces/b/configmaps/new.yaml", []byte("new\n"))
		r.settleEarly() // Stage hands its files to a goroutine
		if data, _ := os.ReadFile(filepath.Join(dir, "namespaces/b/configmaps/new.yaml")); string(data) != "new\n" {
			t.Fatalf("Stage did not write the file ahead: %q", data)
		}
		// The process dies here, before Commit.
		r = open(t, dir, Options{})
		if s := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); s != "" {
			t.Errorf("worktree not back at HEAD after staged files and a crash:\n%s", s)
		}
		if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
			t.Errorf("LocalEdits = %v, %v", edits, err)
		}
	})
	t.Run("in a repository made by the staging", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "repo")
		r := open(t, dir, Options{})
		r.Stage("namespaces/a/configmaps/x.yaml", []byte("x\n"))
		r.settleEarly() // written, then the crash
		r = open(t, dir, Options{})
		if _, err := os.Stat(filepath.Join(dir, "namespaces/a/configmaps/x.yaml")); !os.IsNotExist(err) {
			t.Errorf("a staged file survived a crash before the first commit: %v", err)
		}
		if edits, err := r.LocalEdits(); err != nil || len(edits) != 0 {
			t.Errorf("LocalEdits = %v, %v", edits, err)
		}
		if _, err := r.Commit(ctx, []snapsync.Change{add("namespaces/a/configmaps/y.yaml", "y\n")}, "c\n"); err != nil {
			t.Fatal(err)
		}
		if s := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); s != "" {
			t.Errorf("git status:\n%s", s)
		}
	})
}

func TestIndexWithLongNamesIsReadByGit(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	// Strip lengths above 127 take two varint bytes.
	long := strings.Repeat("x", 100) + "/" + strings.Repeat("y", 100) + "/" + strings.Repeat("z", 100)
	var changes []snapsync.Change
	for _, p := range []string{"a/" + long + "/1.yaml", "b/2.yaml", "b/" + long + long + "/3.yaml", "c.yaml"} {
		changes = append(changes, add(p, p+"\n"))
	}
	if _, err := r.Commit(t.Context(), changes, "long\n"); err != nil {
		t.Fatal(err)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status with long names:\n%s", s)
	}
	got := strings.Fields(gitCLI(t, dir, "ls-files"))
	if len(got) != 4 || got[0] != "a/"+long+"/1.yaml" || got[2] != "b/"+long+long+"/3.yaml" {
		t.Errorf("git reads the names %v", got)
	}
	if edits, err := open(t, dir, Options{}).LocalEdits(); err != nil || len(edits) != 0 {
		t.Errorf("go-git reads the index as %v, %v", edits, err)
	}
}

// TestIndexPatchedInPlaceEqualsAFullWrite commits changes of files in
// place (the index entries' bytes patched), then adds and removes files
// (the index encoded whole): after each commit the index file is exactly
// what encoding the whole index gives, and git finds the worktree clean.
func TestIndexPatchedInPlaceEqualsAFullWrite(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	var changes []snapsync.Change
	for i := range 50 {
		changes = append(changes, add(fmt.Sprintf("namespaces/ns-%d/configmaps/obj-%02d.yaml", i%3, i), fmt.Sprintf("n: %d\n", i)))
	}
	commit(t, r, "fill\n", changes...)
	check := func(what string, gitStatus bool) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := r.loadIndex()
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := encodeIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("%s: the index file differs from a full encoding", what)
		}
		if gitStatus {
			clean(t, dir) // git may refresh the index: the next commit rereads it
		}
	}
	var kept *byte
	for i := range 5 {
		ch := changes[i*7]
		ch.Op, ch.Data = snapsync.Modified, fmt.Appendf(nil, "changed: %d\n", i)
		commit(t, r, "one\n", ch)
		if i > 0 && &r.indexFile[0] != kept {
			t.Errorf("change %d: the index was encoded whole, not patched", i)
		}
		kept = &r.indexFile[0]
		check(fmt.Sprintf("change %d", i), false)
	}
	clean(t, dir)
	two := []snapsync.Change{changes[1], changes[2]}
	two[0].Op, two[0].Data = snapsync.Modified, []byte("a\n")
	two[1].Op, two[1].Data = snapsync.Modified, []byte("b\n")
	commit(t, r, "two\n", two...)
	check("two changes", true)
	commit(t, r, "new\n", add("namespaces/ns-0/configmaps/aaa.yaml", "new\n"))
	check("an added file", true)
	del := changes[3]
	del.Op, del.Data = snapsync.Deleted, nil
	commit(t, r, "gone\n", del)
	check("a deleted file", true)
}
