package gitstore

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// BenchmarkCommitOneAtScale is the watcher's one-change commit without a
// control plane: a repository with a worktree (as kubesnap watch keeps
// it) holding 10,000, 100,000 or 300,000 files laid out as make
// bench-scale lays out its cheap objects (50 namespaces; of every ten
// objects eight ConfigMaps, a Secret and a custom resource, so that at
// 300,000 one configmaps folder holds 4,800 files), staged and committed
// as a first snapshot does, then one ConfigMap changed per commit, the
// one BenchmarkWatchLatency changes, with the index written in the
// commit or in the background (Options.IndexInBackground, as the
// watcher commits). Per-commit cost should not grow with the number of
// files. It takes minutes to set up at 300,000:
//
//	TMPDIR=/dev/shm/x go test -run '^$' -bench CommitOneAtScale -benchtime 200x ./internal/gitstore/
func BenchmarkCommitOneAtScale(b *testing.B) {
	for _, n := range []int{10000, 100000, 300000} {
		for _, bg := range []bool{false, true} {
			b.Run(fmt.Sprintf("files=%d/index-in-background=%v", n, bg), func(b *testing.B) { commitOneAtScale(b, n, bg) })
		}
	}
}

// commitOneAtScale times one-change commits into a repository of n files.
// With the index written in the background, each commit is timed from
// when the last one's index is written, as changes that come one at a
// time find it: the time until Commit returns, which the watcher logs.
func commitOneAtScale(b *testing.B, n int, bg bool) {
	r := scaleRepo(b, n, bg)
	ch := snapsync.Change{Op: snapsync.Modified, Path: scalePath(0)}
	i := 0
	for b.Loop() {
		i++
		ch.Data = fmt.Appendf(nil, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-00000\n  namespace: bench-00\ndata:\n  rev: %q\n", fmt.Sprint(i))
		if _, err := r.Commit(b.Context(), []snapsync.Change{ch}, fmt.Sprintf("Update 1 object in bench-00: configmaps/obj-00000\n\nM %s\n", ch.Path)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := r.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// scalePath is where make bench-scale's cheap object i is stored.
func scalePath(i int) string {
	dir := [10]string{"configmaps", "configmaps", "configmaps", "configmaps", "configmaps", "configmaps", "configmaps", "configmaps", "secrets", "widgets.bench.kubesnap.io"}[i%10]
	return fmt.Sprintf("namespaces/bench-%02d/%s/obj-%05d.yaml", i%50, dir, i)
}

// scaleRepo makes a repository with a worktree holding n files at
// scalePath, staged and committed at once, and a few one-change commits
// after it, so that the benchmark starts from a watcher's steady state.
func scaleRepo(b *testing.B, n int, bg bool) *Repo {
	b.Helper()
	r, err := Open(filepath.Join(b.TempDir(), "repo"), Options{IndexInBackground: bg})
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]snapsync.Change, n)
	for i := range n {
		p := scalePath(i)
		r.Stage(p, fmt.Appendf(nil, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-%05d\n  namespace: bench-%02d\ndata:\n  n: %q\n", i, i%50, fmt.Sprint(i)))
		changes[i] = snapsync.Change{Op: snapsync.Added, Path: p}
	}
	if _, err := r.Commit(b.Context(), changes, "first\n"); err != nil {
		b.Fatal(err)
	}
	for i := range 3 {
		ch := snapsync.Change{Op: snapsync.Modified, Path: scalePath(0), Data: fmt.Appendf(nil, "warm: %d\n", i)}
		if _, err := r.Commit(b.Context(), []snapsync.Change{ch}, "warm\n"); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.Flush(); err != nil {
		b.Fatal(err)
	}
	syscall.Sync() // keep the setup's writeback out of the timings
	return r
}
