package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// rollupAll writes every object of the repository at dir as one roll-up
// pack into packDir and returns the pack's index path.
func rollupAll(t *testing.T, dir, packDir string) string {
	t.Helper()
	set := map[plumbing.Hash]bool{}
	for _, id := range strings.Fields(gitCLI(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")) {
		set[plumbing.NewHash(id)] = true
	}
	gitDir := filepath.Join(dir, ".git")
	lock, err := lockMaintain(gitDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	own, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	name, err := writeRollup(t.Context(), lock, packDir, own.Storer, set)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(packDir, name+".idx")
}

// packDeltas reads git verify-pack -v of idx: objects, deltified ones
// and the deepest chain.
func packDeltas(t *testing.T, dir, idx string) (objects, deltas, depth int) {
	t.Helper()
	for _, line := range strings.Split(gitCLI(t, dir, "verify-pack", "-v", idx), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || len(f[0]) != 40 {
			continue
		}
		objects++
		if len(f) == 7 {
			deltas++
			d, err := strconv.Atoi(f[5])
			if err != nil {
				t.Fatalf("verify-pack line %q", line)
			}
			depth = max(depth, d)
		}
	}
	return objects, deltas, depth
}

func TestRollupStoresEachChangeAsAShallowDelta(t *testing.T) {
	dir := t.TempDir()
	// 3,000 files in 10 folders, so the bases of the later folder trees
	// lie far back in the pack (distances of several bytes to encode),
	// then 200 commits that each change one file of ns-00.
	r, _ := historyRepo(t, dir, 3000, 0)
	for i := range 200 {
		commit(t, r, "more\n", modify(fmt.Sprintf("namespaces/ns-00/configmaps/cm-%04d.yaml", (i%30)*10), fmt.Sprintf("more %d\n", i)))
	}
	idx := rollupAll(t, dir, t.TempDir()) // verify-pack checks every object's id and the index
	all := len(strings.Fields(gitCLI(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")))
	objects, deltas, depth := packDeltas(t, dir, idx)
	if objects != all {
		t.Fatalf("the pack holds %d objects, the repository %d", objects, all)
	}
	// Each commit changes a file and four trees; the two trees worth a
	// delta (namespaces/ and the 300-file folder) are stored as one:
	// the files and the one-entry trees are too small.
	if deltas < 2*199 {
		t.Errorf("%d deltas of %d objects: want the changed trees and files as deltas", deltas, objects)
	}
	if depth > 9 { // log2(201) + 1
		t.Errorf("deepest delta chain %d: want at most 9", depth)
	}
}

func TestMaintainWithDeltasLeavesARepositoryGitAndKubesnapRead(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 200, 0)
	path := "namespaces/ns-01/configmaps/cm-0001.yaml"
	before := commit(t, r, "a\n", modify(path, "a\n"))
	ids = append(ids, before, commit(t, r, "b\n", modify(path, "b\n")))
	// A revert: the blob and trees of two commits ago come back.
	ids = append(ids, commit(t, r, "a again\n", modify(path, "a\n")))
	ids = append(ids, commit(t, r, "gone\n", remove(path)))
	back := commit(t, r, "back\n", add(path, "a\n"))
	ids = append(ids, back)
	// Tags on a tree and a blob, an annotated tag, and a half-written
	// lock file of a writer: none of them may fail the roll-up.
	gitCLI(t, dir, "tag", "on-tree", "HEAD^{tree}")
	gitCLI(t, dir, "tag", "on-blob", "HEAD:"+path)
	gitCLI(t, dir, "tag", "-a", "-m", "annotated", "v1", before)
	if err := os.WriteFile(filepath.Join(dir, ".git", "refs", "heads", "x.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second rolls the first's pack up with the new loose objects
		ids = append(ids, commit(t, r, "more\n", modify(path, fmt.Sprintf("%d\n", len(ids)))))
		if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if loose, _ := objectCounts(t, dir); loose != 0 {
		t.Errorf("%d loose objects left", loose)
	}
	allReadable(t, dir, r, ids)
	for _, rev := range []string{"on-tree", "on-blob", "v1"} {
		gitCLI(t, dir, "cat-file", "-e", rev)
	}
	if got := gitCLI(t, dir, "show", back+":"+path); got != "a\n" {
		t.Errorf("the file as re-created reads %q, want %q", got, "a\n")
	}
}

func TestDataCacheKeepsTheLatestWithinItsLimit(t *testing.T) {
	c := newDataCache(10)
	h := func(i byte) plumbing.Hash { return plumbing.Hash{i} }
	c.put(h(1), []byte("1234"))
	c.put(h(2), []byte("5678"))
	c.put(h(3), []byte("90ab")) // 12 bytes: the oldest goes
	c.put(h(4), []byte("too long for it"))
	if _, ok := c.get(h(1)); ok {
		t.Error("the oldest is still kept over the limit")
	}
	for _, i := range []byte{2, 3} {
		if _, ok := c.get(h(i)); !ok {
			t.Errorf("%d is not kept", i)
		}
	}
	if _, ok := c.get(h(4)); ok {
		t.Error("data over the limit is kept")
	}
}
