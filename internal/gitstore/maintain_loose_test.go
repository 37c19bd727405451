package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// commitMore makes n one-object commits to r and returns their ids.
func commitMore(t *testing.T, r *Repo, n int, tag string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, commit(t, r, tag+"\n", modify(fmt.Sprintf("namespaces/ns-%02d/configmaps/cm-%04d.yaml", i%10, (i*7)%1000), fmt.Sprintf("%s %d\n", tag, i))))
	}
	return ids
}

// looseSet lists the loose objects on disk.
func looseSet(t *testing.T, dir string) map[plumbing.Hash]bool {
	t.Helper()
	st, err := scanObjects(filepath.Join(dir, ".git", "objects"), nil)
	if err != nil {
		t.Fatal(err)
	}
	set := map[plumbing.Hash]bool{}
	for _, h := range st.loose {
		set[h] = true
	}
	return set
}

// While this process's maintenance holds the lock (its pack written, its
// finish not yet run, as a long roll-up), a second PrepareMaintenance
// packs the loose objects that came since, alone, and leaves those the
// first gathers to it.
func TestLoosePackBesideARollupInThisProcess(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 1000, 40)
	first := looseSet(t, dir)
	finishRollup, _, err := r.prepareMaintenance(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || finishRollup == nil {
		t.Fatalf("the roll-up: %v, finish %v", err, finishRollup != nil)
	}
	ids = append(ids, commitMore(t, r, 20, "beside")...)
	since := looseSet(t, dir)
	for h := range first {
		delete(since, h)
	}
	// Too few loose objects since: nothing.
	finish, res, err := r.prepareMaintenance(t.Context(), MaintainOptions{MinLoose: 1, LooseBeside: len(since) + 1})
	if err != nil || finish != nil || res.Skipped != "another maintenance is running" {
		t.Fatalf("below LooseBeside: %+v, %v; want skipped", res, err)
	}
	finish, res, err = r.prepareMaintenance(t.Context(), MaintainOptions{MinLoose: 1, LooseBeside: 1})
	if err != nil || finish == nil {
		t.Fatalf("the loose pack: %+v, %v", res, err)
	}
	// A third finds the loose pack's lock held.
	if f, res, err := r.prepareMaintenance(t.Context(), MaintainOptions{MinLoose: 1, LooseBeside: 1}); err != nil || f != nil || res.Skipped != "another maintenance is running" {
		t.Fatalf("beside the loose pack: %+v, %v; want skipped", res, err)
	}
	replacedBefore, _ := os.ReadFile(filepath.Join(dir, ".git", replacedName))
	res, err = finish()
	if err != nil || res.LoosePacked != len(since) || res.PacksRolled != 0 {
		t.Fatalf("the loose pack's finish: %+v, %v; want the %d loose objects since packed, no pack rolled", res, err, len(since))
	}
	left := looseSet(t, dir)
	for h := range since {
		if left[h] {
			t.Errorf("%s is still loose after the loose pack", h)
		}
	}
	for h := range first {
		if !left[h] {
			t.Errorf("%s, gathered by the roll-up, went with the loose pack", h)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ".git", replacedName)); string(after) != string(replacedBefore) {
		t.Errorf("the loose pack changed the list of replaced packs: %q → %q", replacedBefore, after)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", looseLockName)); !os.IsNotExist(err) {
		t.Errorf("the loose pack's lock after its finish: %v; want it released", err)
	}
	allReadable(t, dir, r, ids)
	if _, err := finishRollup(); err != nil {
		t.Fatal(err)
	}
	if l, _ := objectCounts(t, dir); l != 0 {
		t.Errorf("%d loose objects after both finishes, want 0", l)
	}
	allReadable(t, dir, r, ids)
	// The lock is free again: the next maintenance rolls up both packs.
	ids = append(ids, commitMore(t, r, 5, "after")...)
	res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || res.Skipped != "" || res.LoosePacked != 30 {
		t.Fatalf("the next maintenance: %+v, %v; want the lock taken and 30 loose objects packed", res, err)
	}
	allReadable(t, dir, r, ids)
}

// A roll-up in another process is not known here: the loose pack takes
// every loose object, and the roll-up's finish passes by the loose
// objects already gone.
func TestLoosePackBesideARollupInAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 1000, 40)
	other := open(t, dir, Options{}) // as a second process: its own Repo
	finishRollup, _, err := other.prepareMaintenance(t.Context(), MaintainOptions{MinLoose: 1})
	if err != nil || finishRollup == nil {
		t.Fatalf("the roll-up: %v, finish %v", err, finishRollup != nil)
	}
	ids = append(ids, commitMore(t, r, 10, "beside")...)
	res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1, LooseBeside: 1})
	if err != nil || res.Skipped != "" || res.LoosePacked == 0 || res.PacksRolled != 0 {
		t.Fatalf("the loose pack: %+v, %v", res, err)
	}
	if l, _ := objectCounts(t, dir); l != 0 {
		t.Errorf("%d loose objects after the loose pack, want 0", l)
	}
	res, err = finishRollup()
	if err != nil || res.LoosePacked == 0 {
		t.Fatalf("the roll-up's finish with its loose objects gone: %+v, %v", res, err)
	}
	allReadable(t, dir, r, ids)
	allReadable(t, dir, other, ids)
}

// A maintainer's storage listed the packs before another maintainer
// packed the loose objects and removed them: it reads the pack list
// again and finds them, and its roll-up keeps its deltas.
func TestRollupFindsObjectsWhoseLooseFilesWentAway(t *testing.T) {
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 200, 60)
	gitDir := filepath.Join(dir, ".git")
	set := looseSet(t, dir)
	own, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := own.Storer.(*filesystem.Storage)
	if _, err := fs.EncodedObject(plumbing.AnyObject, plumbing.NewHash(ids[0])); err != nil {
		t.Fatal(err) // the fill commit, packed: the storage lists the packs now
	}
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	var gone plumbing.Hash
	for h := range set {
		gone = h
		break
	}
	if _, err := fs.EncodedObject(plumbing.AnyObject, gone); err == nil {
		t.Fatalf("go-git's storage found %s without a rescan: the test shows nothing", gone)
	}
	lock, err := lockMaintain(gitDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	rollup := func(objs storer.EncodedObjectStorer) (objects, deltas int) {
		packDir := filepath.Join(t.TempDir(), "pack")
		if err := os.MkdirAll(packDir, 0o755); err != nil {
			t.Fatal(err)
		}
		name, err := writeRollup(t.Context(), lock, packDir, objs, set)
		if err != nil {
			t.Fatalf("a roll-up whose loose objects went into another pack: %v", err)
		}
		objects, deltas, _ = packDeltas(t, dir, filepath.Join(packDir, name+".idx"))
		return objects, deltas
	}
	objects, deltas := rollup(rescanning{fs})
	fresh, err := git.PlainOpen(dir) // a storage that listed the packs after
	if err != nil {
		t.Fatal(err)
	}
	_, want := rollup(fresh.Storer)
	if objects != len(set) || deltas != want || deltas == 0 {
		t.Errorf("the roll-up holds %d objects, %d of them deltas; want %d, and %d deltas as from a fresh storage", objects, deltas, len(set), want)
	}
}

func TestSIGKILLDuringALoosePackLosesNothing(t *testing.T) {
	template, ids := killTemplate(t)
	head := rev(t, template, "HEAD")
	delays := []time.Duration{0, 5, 10, 20, 30, 40, 60, 80, 100, 150, 200, 300, 500}
	if testing.Short() {
		delays = []time.Duration{0, 30, 100}
	}
	for _, ms := range delays {
		d := ms * time.Millisecond
		dir := filepath.Join(t.TempDir(), "repo")
		copyRepo(t, template, dir)
		killAfter(t, "loosepack", dir, d)
		if got := rev(t, dir, "HEAD"); got != head {
			t.Fatalf("killed after %s: HEAD %s, want %s", d, got, head)
		}
		r := open(t, dir, Options{})
		allReadable(t, dir, r, ids)
		// Both locks name the dead child: the next maintenance takes them.
		res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
		if err != nil || res.Skipped != "" && res.Skipped != "nothing to gather" {
			t.Fatalf("killed after %s: the next maintenance: %+v, %v", d, res, err)
		}
		allReadable(t, dir, r, ids)
		if l, _ := objectCounts(t, dir); l != 0 {
			t.Errorf("killed after %s: %d loose objects after the next maintenance, want 0", d, l)
		}
		// The loose pack's lock names the dead child: the next loose
		// pack takes it.
		after := append(slices.Clone(ids), commitMore(t, r, 1, "after")...)
		lock, err := lockMaintain(r.gitDir())
		if err != nil {
			t.Fatal(err)
		}
		res, err = r.Maintain(t.Context(), MaintainOptions{MinLoose: 1, LooseBeside: 1})
		lock.release()
		if err != nil || res.LoosePacked == 0 {
			t.Fatalf("killed after %s: the next loose pack: %+v, %v", d, res, err)
		}
		allReadable(t, dir, r, after)
		tmps, _ := filepath.Glob(filepath.Join(dir, ".git", "*.lock"))
		if len(tmps) != 0 {
			t.Errorf("killed after %s: locks left: %v", d, tmps)
		}
	}
}

// loosePackChild is the child "loosepack DIR": it holds the maintenance
// lock, as a roll-up would, and writes a loose pack beside it.
func loosePackChild(r *Repo) error {
	lock, err := lockMaintain(r.gitDir())
	if err != nil {
		return err
	}
	defer lock.release()
	res, err := r.Maintain(context.Background(), MaintainOptions{MinLoose: 1, LooseBeside: 1})
	if err == nil && res.LoosePacked == 0 {
		err = fmt.Errorf("no loose pack: %+v", res)
	}
	return err
}
