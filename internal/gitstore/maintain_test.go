package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// historyRepo writes a repository with a fill commit of fill objects (a
// pack) and then n commits that each change one object (loose objects).
func historyRepo(t testing.TB, dir string, fill, n int) (*Repo, []string) {
	t.Helper()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var objects []snapsync.Change
	for i := range fill {
		objects = append(objects, add(fmt.Sprintf("namespaces/ns-%02d/configmaps/cm-%04d.yaml", i%10, i), fmt.Sprintf("i: %d\n", i)))
	}
	var ids []string
	id, err := r.Commit(t.Context(), objects, "fill\n")
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, id)
	for i := range n {
		c := objects[(i*7)%len(objects)]
		c.Op, c.Data = snapsync.Modified, fmt.Appendf(nil, "n: %d\n", i)
		id, err := r.Commit(t.Context(), []snapsync.Change{c}, fmt.Sprintf("change %d\n", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return r, ids
}

// objectCounts runs git count-objects -v: loose objects and packs.
func objectCounts(t testing.TB, dir string) (loose, packs int) {
	t.Helper()
	out := gitCLI(t.(*testing.T), dir, "count-objects", "-v")
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, ": ")
		var err error
		switch k {
		case "count":
			loose, err = strconv.Atoi(v)
		case "packs":
			packs, err = strconv.Atoi(v)
		}
		if err != nil {
			t.Fatalf("git count-objects: %q", l)
		}
	}
	return loose, packs
}

// allReadable checks that git finds every commit of ids with its whole
// tree, that fsck --strict is clean, and that the Repo reads each one.
func allReadable(t *testing.T, dir string, r *Repo, ids []string) {
	t.Helper()
	gitCLI(t, dir, "fsck", "--strict", "--no-dangling") // every object reachable from HEAD is there
	reachable := gitCLI(t, dir, "rev-list", "HEAD")
	for _, id := range ids {
		if !strings.Contains(reachable, id) {
			t.Fatalf("commit %s is not reachable from HEAD", id)
		}
		rv, err := r.At(id)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		if _, err := rv.Files(t.Context()); err != nil {
			t.Fatalf("files of %s: %v", id, err)
		}
	}
}

func TestMaintainGathersLooseObjectsAndKeepsEveryCommit(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 1000, 40)
	loose, packs := objectCounts(t, dir)
	if loose == 0 || packs != 1 {
		t.Fatalf("before: %d loose, %d packs; want loose objects and the fill's pack", loose, packs)
	}
	res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.LoosePacked != loose || res.Skipped != "" || res.PacksBefore != 1 || res.PacksAfter != 2 {
		t.Errorf("result %+v: want %d loose packed, 1 pack before, 2 after", res, loose)
	}
	if l, p := objectCounts(t, dir); l != 0 || p != 2 {
		t.Errorf("after: %d loose, %d packs; want 0 and 2", l, p)
	}
	allReadable(t, dir, r, ids)
	// Commits go on, and the next maintenance rolls up the small pack
	// with the new loose objects, leaving the fill's pack alone.
	for i := range 30 {
		ids = append(ids, commit(t, r, "more\n", modify(fmt.Sprintf("namespaces/ns-00/configmaps/cm-%04d.yaml", i*10), fmt.Sprintf("more %d\n", i))))
	}
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksRolled != 1 || res.PacksAfter != 2 || res.PacksWaiting != 0 || res.PacksRemoved != 1 {
		t.Errorf("second result %+v: want the small pack rolled up and removed at once (no grace), 2 packs", res)
	}
	allReadable(t, dir, r, ids)
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "nothing to gather" {
		t.Errorf("third result %+v, %v: want nothing to gather", res, err)
	}
}

func TestMaintainKeepsReplacedPacksForTheGracePeriod(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 100, 10)
	// A reader of this Repo holds a revision read before the roll-ups.
	old, err := r.At(ids[5])
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		commit(t, r, "x\n", modify("namespaces/ns-01/configmaps/cm-0001.yaml", time.Now().String()))
		if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1, Grace: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksWaiting != 1 || res.PacksRemoved != 0 {
		t.Fatalf("result %+v: want the replaced pack kept for its grace period", res)
	}
	_, packs := objectCounts(t, dir)
	if packs != 3 {
		t.Errorf("%d packs on disk, want 3: the fill, the new one, the replaced one", packs)
	}
	if _, err := old.Files(t.Context()); err != nil {
		t.Errorf("a revision read before maintenance: %v", err)
	}
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksRemoved != 1 || res.PacksWaiting != 0 {
		t.Errorf("result %+v: want the replaced pack removed once its grace is over", res)
	}
	if data, err := old.Read(t.Context(), "namespaces/ns-05/configmaps/cm-0005.yaml"); err != nil || len(data) == 0 {
		t.Errorf("a revision read before maintenance, after its packs went: %q, %v", data, err)
	}
	allReadable(t, dir, r, ids)
}

func TestMaintainLeavesKeptPacksAndOtherWritersFiles(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 100, 10)
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	names, _ := filepath.Glob(filepath.Join(packDir, "pack-*.pack"))
	if len(names) != 1 {
		t.Fatalf("packs %v, want the fill's", names)
	}
	keep := strings.TrimSuffix(names[0], ".pack") + ".keep"
	tmp := filepath.Join(packDir, "tmp_pack_other")
	for _, f := range []string{keep, tmp} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Two equal-sized packs would roll up, but a kept one never does.
	commit(t, r, "y\n", modify("namespaces/ns-01/configmaps/cm-0001.yaml", "y\n"))
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{names[0], keep, tmp} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v; want it left alone", f, err)
		}
	}
	allReadable(t, dir, r, ids)
}

// Another process holds the lock: Maintain writes a loose pack beside
// it, unless another loose pack is under way too.
func TestMaintainSkipsWhileAnotherHoldsTheLock(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 10, 5)
	lock := filepath.Join(dir, ".git", maintainLockName)
	looseLock := filepath.Join(dir, ".git", looseLockName)
	for _, l := range []string{lock, looseLock} {
		if err := os.WriteFile(l, []byte("1\n"), 0o644); err != nil { // pid 1: alive
			t.Fatal(err)
		}
	}
	res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "another maintenance is running" {
		t.Fatalf("with both locks held: %+v, %v; want skipped", res, err)
	}
	if l, _ := objectCounts(t, dir); l == 0 {
		t.Error("loose objects packed while other maintainers held both locks")
	}
	if err := os.Remove(looseLock); err != nil {
		t.Fatal(err)
	}
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "" || res.LoosePacked == 0 || res.PacksRolled != 0 || res.PacksRemoved != 0 {
		t.Fatalf("with the lock held: %+v, %v; want the loose objects packed alone", res, err)
	}
	if l, _ := objectCounts(t, dir); l != 0 {
		t.Errorf("%d loose objects after the loose pack, want 0", l)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("the other maintainer's lock: %v; want it left", err)
	}
	ids = append(ids, commit(t, r, "more\n", modify("namespaces/ns-00/configmaps/cm-0000.yaml", "more\n")))
	// A lock left by a maintainer that died goes stale.
	old := time.Now().Add(-maintainLockStale - time.Second)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "" || res.LoosePacked == 0 {
		t.Fatalf("with a stale lock: %+v, %v; want the loose objects packed", res, err)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock after maintenance: %v; want it released", err)
	}
	allReadable(t, dir, r, ids)
}

func TestCommitWritesLooseObjectsGitReads(t *testing.T) {
	dir := t.TempDir()
	_, ids := historyRepo(t, dir, 3, 3)
	gitCLI(t, dir, "fsck", "--strict", "--no-dangling")
	if got := strings.TrimSpace(gitCLI(t, dir, "rev-list", "--count", "HEAD")); got != fmt.Sprint(len(ids)) {
		t.Errorf("git counts %s commits, want %d", got, len(ids))
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "*", "tmp_obj_*"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// A lock without a pid is one whose taker was killed before writing it
// (or a hand-made one): older than a second, it no longer holds.
func TestMaintainTakesAnEmptyLockLeftBehind(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 10, 5)
	lock := filepath.Join(dir, ".git", maintainLockName)
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Second)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "" || res.LoosePacked == 0 {
		t.Fatalf("with an empty lock left behind: %+v, %v; want the loose objects packed", res, err)
	}
	if _, err := os.Stat(lock + "." + strconv.Itoa(os.Getpid())); !os.IsNotExist(err) {
		t.Errorf("the taker's own pid file was left: %v", err)
	}
	allReadable(t, dir, r, ids)
}
