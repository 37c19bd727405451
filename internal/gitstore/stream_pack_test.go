package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// tmpPacks returns the temporary packs and indexes in dir's objects/pack.
func tmpPacks(t *testing.T, gitDir string) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(gitDir, "objects/pack/tmp_*"))
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// staged changes as Snapshot hands them to Commit: without their bytes.
func stagedChange(p string) snapsync.Change {
	return snapsync.Change{Op: snapsync.Added, Path: p}
}

// A first snapshot's blobs, staged from many goroutines at once, some
// twice (a restarted list) and some with the same bytes under two names,
// go into one streamed pack that git verifies and reads, and Commit takes
// them by path alone.
func TestStreamedPackFromConcurrentStagesIsOnePackGitReads(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	const files, workers = 3000, 8
	content := func(i int) string {
		if i%100 == 7 {
			return "shared: true\n" // the same blob under 30 names
		}
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%04d\ndata:\n  n: %q\n", i, strings.Repeat("x", i%50))
	}
	name := func(i int) string { return fmt.Sprintf("namespaces/ns-%d/configmaps/c%04d.yaml", i%7, i) }
	var wg gosync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < files; i += workers {
				if i%10 == 3 {
					r.Stage(name(i), fmt.Appendf(nil, "an older version of %d\n", i)) // restarted: the last Stage wins
				}
				r.Stage(name(i), []byte(content(i)))
			}
		})
	}
	wg.Wait()
	if len(tmpPacks(t, filepath.Join(dir, ".git"))) != 1 {
		t.Fatalf("temporary files while staging %d blobs: %v, want one tmp_pack_", files, tmpPacks(t, filepath.Join(dir, ".git")))
	}
	changes := []snapsync.Change{add("unstaged.yaml", "committed with its bytes\n")}
	for i := range files {
		changes = append(changes, stagedChange(name(i)))
	}
	if _, err := r.Commit(t.Context(), changes, "first\n"); err != nil {
		t.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs after the commit: %v, want 1", packs)
	}
	if left := tmpPacks(t, filepath.Join(dir, ".git")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	verify := gitCLI(t, dir, "verify-pack", "-v", strings.TrimSuffix(packs[0], ".pack")+".idx")
	// Unique blobs: the files but 29 of the 30 shared ones, 300 older
	// versions, the unstaged file; trees: the root, namespaces, 7
	// namespaces with a configmaps folder each; one commit.
	wantObjects := files - 29 + 300 + 1 + 2 + 7*2 + 1
	if got := strings.Count(verify, " blob ") + strings.Count(verify, " tree ") + strings.Count(verify, " commit "); got != wantObjects {
		t.Errorf("verify-pack lists %d objects, want %d", got, wantObjects)
	}
	gitCLI(t, dir, "fsck", "--strict")
	for _, i := range []int{0, 3, 7, 2999} {
		if got := gitCLI(t, dir, "show", "HEAD:"+name(i)); got != content(i) {
			t.Errorf("%s reads %q, want %q", name(i), got, content(i))
		}
	}
	if got := strings.Count(gitCLI(t, dir, "ls-tree", "-r", "HEAD"), "\n"); got != files+1 {
		t.Errorf("HEAD holds %d files, want %d", got, files+1)
	}
	if s := gitCLI(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("git status after the streamed commit:\n%s", s)
	}
	if got, err := r.Read(t.Context(), "namespaces/ns-3/configmaps/c0003.yaml"); err != nil || string(got) != content(3) {
		t.Errorf("Read from the streamed pack = %q, %v", got, err)
	}
}

// A streamed commit into a bare repository writes no files, and a change
// whose file Stage could not write into the worktree is read back from
// the pack.
func TestStreamedCommitWithoutEarlyFiles(t *testing.T) {
	for _, bare := range []bool{true, false} {
		t.Run(fmt.Sprintf("bare=%v", bare), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			r := open(t, dir, Options{Bare: bare})
			var changes []snapsync.Change
			for i := range packThreshold * 3 {
				p := fmt.Sprintf("namespaces/a/configmaps/c%03d.yaml", i)
				r.Stage(p, fmt.Appendf(nil, "n: %d\n", i))
				changes = append(changes, stagedChange(p))
			}
			if !bare {
				// As if Stage had failed to write these: Commit must
				// write them from the blobs it stored. (Once Stage's
				// goroutine has written what it was handed.)
				r.settleEarly()
				r.early.mu.Lock()
				for i := range 5 {
					name := fmt.Sprintf("namespaces/a/configmaps/c%03d.yaml", i)
					delete(r.early.entries, name)
					_ = os.Remove(filepath.Join(dir, name))
				}
				r.early.mu.Unlock()
			}
			if _, err := r.Commit(t.Context(), changes, "c\n"); err != nil {
				t.Fatal(err)
			}
			gitDir := dir
			if !bare {
				gitDir = filepath.Join(dir, ".git")
				if s := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); s != "" {
					t.Errorf("git status:\n%s", s)
				}
				if data, err := os.ReadFile(filepath.Join(dir, "namespaces/a/configmaps/c002.yaml")); err != nil || string(data) != "n: 2\n" {
					t.Errorf("file not written early reads %q, %v", data, err)
				}
			}
			gitCLI(t, dir, "fsck", "--strict")
			if left := tmpPacks(t, gitDir); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// What Stage streamed is removed when no commit takes it: Unstage (a
// snapshot that failed), or a Commit that fails before its pack is done.
func TestStreamedPackThatIsNotCommittedIsRemoved(t *testing.T) {
	stageMany := func(r *Repo, prefix string) []snapsync.Change {
		var changes []snapsync.Change
		for i := range packThreshold * 2 {
			p := fmt.Sprintf("namespaces/%s/configmaps/c%03d.yaml", prefix, i)
			r.Stage(p, fmt.Appendf(nil, "%s: %d\n", prefix, i))
			changes = append(changes, stagedChange(p))
		}
		return changes
	}
	t.Run("unstaged", func(t *testing.T) {
		dir := t.TempDir()
		r := open(t, dir, Options{})
		first := commit(t, r, "first\n", add("cluster/namespaces/a.yaml", "a\n"))
		stageMany(r, "a")
		if len(tmpPacks(t, filepath.Join(dir, ".git"))) != 1 {
			t.Fatal("no temporary pack while staging")
		}
		r.Unstage()
		if left := tmpPacks(t, filepath.Join(dir, ".git")); len(left) != 0 {
			t.Errorf("temporary files left after Unstage: %v", left)
		}
		if got := rev(t, dir, "main"); got != first {
			t.Errorf("main moved to %s, want %s", got, first)
		}
		// The next commit is whole without what was unstaged.
		if _, err := r.Commit(t.Context(), []snapsync.Change{stagedChange("namespaces/a/configmaps/c000.yaml")}, "c\n"); err == nil {
			t.Error("Commit took a change Unstage dropped")
		}
		changes := stageMany(r, "b")
		if _, err := r.Commit(t.Context(), changes, "b\n"); err != nil {
			t.Fatal(err)
		}
		gitCLI(t, dir, "fsck", "--strict")
	})
	t.Run("a change neither staged nor given", func(t *testing.T) {
		dir := t.TempDir()
		r := open(t, dir, Options{})
		first := commit(t, r, "first\n", add("cluster/namespaces/a.yaml", "a\n"))
		changes := append(stageMany(r, "a"), stagedChange("namespaces/a/configmaps/never.yaml"))
		_, err := r.Commit(t.Context(), changes, "c\n")
		if err == nil || !strings.Contains(err.Error(), "namespaces/a/configmaps/never.yaml") || !strings.Contains(err.Error(), "not staged") {
			t.Fatalf("Commit of a change without data = %v, want an error naming the file", err)
		}
		if left := tmpPacks(t, filepath.Join(dir, ".git")); len(left) != 0 {
			t.Errorf("temporary files left after a failed commit: %v", left)
		}
		if got := rev(t, dir, "main"); got != first {
			t.Errorf("main moved to %s, want %s", got, first)
		}
	})
	t.Run("the stream failed to write", func(t *testing.T) {
		dir := t.TempDir()
		r := open(t, dir, Options{})
		first := commit(t, r, "first\n", add("cluster/namespaces/a.yaml", "a\n"))
		changes := stageMany(r, "a")
		// The file goes away under the stream (a full disk, an I/O
		// error): the stream's next write fails.
		r.packed.mu.Lock()
		_ = r.packed.staged.stream.f.Close()
		r.packed.mu.Unlock()
		big := strings.Repeat("big", 1<<19) // more than the stream's buffer
		r.Stage("namespaces/a/configmaps/big.yaml", []byte(big))
		changes = append(changes, stagedChange("namespaces/a/configmaps/big.yaml"))
		_, err := r.Commit(t.Context(), changes, "c\n")
		if err == nil || !strings.Contains(err.Error(), "write pack") {
			t.Fatalf("Commit after the stream failed = %v, want a write pack error", err)
		}
		if left := tmpPacks(t, filepath.Join(dir, ".git")); len(left) != 0 {
			t.Errorf("temporary files left after a failed commit: %v", left)
		}
		if got := rev(t, dir, "main"); got != first {
			t.Errorf("main moved to %s, want %s", got, first)
		}
		gitCLI(t, dir, "fsck", "--strict")
	})
	t.Run("no pack folder", func(t *testing.T) {
		dir := t.TempDir()
		r := open(t, dir, Options{})
		first := commit(t, r, "first\n", add("cluster/namespaces/a.yaml", "a\n"))
		pack := filepath.Join(dir, ".git/objects/pack")
		if err := os.RemoveAll(pack); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pack, []byte("not a folder"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Stage cannot stream: it keeps the blobs, and the commit's
		// pack fails as one would without Stage.
		changes := stageMany(r, "a")
		if _, err := r.Commit(t.Context(), changes, "c\n"); err == nil || !strings.Contains(err.Error(), "write pack") {
			t.Fatalf("Commit with no pack folder = %v, want a write pack error", err)
		}
		if got := rev(t, dir, "main"); got != first {
			t.Errorf("main moved to %s, want %s", got, first)
		}
	})
}

// cancelling is a cluster of one type whose LIST passes n ConfigMaps and
// then ends the snapshot's context, as a user's Ctrl-C would.
type cancelling struct {
	n      int
	cancel context.CancelFunc
}

var configMaps = canonical.Type{Resource: "configmaps", Version: "v1", Kind: "ConfigMap", Namespaced: true, Verbs: []string{"create", "get", "list", "watch", "update", "delete", "patch"}}

func (c *cancelling) Discover(context.Context) (snapsync.Discovery, error) {
	return snapsync.Discovery{Types: []canonical.Type{configMaps}, ServerVersion: "v1.37.2"}, nil
}

func (c *cancelling) ResourceVersion(context.Context) (string, error) { return "7", nil }

func (c *cancelling) List(ctx context.Context, _ canonical.Type, _ snapsync.ListOptions, fn func(*unstructured.Unstructured) error) (bool, error) {
	for i := range c.n {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("c%04d", i), "namespace": "a"},
			"data":     map[string]any{"n": fmt.Sprint(i)},
		}}
		if err := fn(obj); err != nil {
			return false, err
		}
	}
	if c.cancel == nil {
		return false, nil
	}
	c.cancel()
	return false, ctx.Err()
}

// A snapshot cancelled after its lists staged thousands of files leaves
// no temporary pack and no branch move; the next one commits them all.
func TestCancelledSnapshotLeavesNoPack(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	first := commit(t, r, "first\n", add("cluster/namespaces/a.yaml", "a\n"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := snapsync.Snapshot(ctx, &cancelling{n: 2000, cancel: cancel}, r, snapsync.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Snapshot = %v, want context.Canceled", err)
	}
	if left := tmpPacks(t, filepath.Join(dir, ".git")); len(left) != 0 {
		t.Errorf("temporary files left by a cancelled snapshot: %v", left)
	}
	if got := rev(t, dir, "main"); got != first {
		t.Errorf("main moved to %s, want %s", got, first)
	}
	res, err := snapsync.Snapshot(t.Context(), &cancelling{n: 2000}, r, snapsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 2000 {
		t.Errorf("snapshot captured %d objects, want 2000", res.Objects)
	}
	gitCLI(t, dir, "fsck", "--strict")
	if got := gitCLI(t, dir, "show", "HEAD:namespaces/a/configmaps/c1999.yaml"); !strings.Contains(got, "\"1999\"") {
		t.Errorf("c1999.yaml reads %q", got)
	}
	if s := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); s != "" {
		t.Errorf("git status:\n%s", s)
	}
}
