package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// benchCommits is the history length of BenchmarkLog:
// KUBESNAP_BENCH_COMMITS, 3,000 when unset.
func benchCommits(b *testing.B) int {
	v := os.Getenv("KUBESNAP_BENCH_COMMITS")
	if v == "" {
		return 3000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("KUBESNAP_BENCH_COMMITS=%q: want a count of commits", v)
	}
	return n
}

// benchHistory writes a repository of 1,000 objects (50 namespaces, 5
// types) in one commit, then n commits that each change one object, as
// the watcher writes them: with kubesnap's trailers, or with a subject
// alone (an older kubesnap's history, whose counts come from the trees).
func benchHistory(b *testing.B, n int, trailers bool) *Repo {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "repo")
	r, err := Open(dir, Options{Prefix: "clusters/a", Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { t = t.Add(time.Second); return t }
	var objects []snapsync.Change
	for i := range 1000 {
		p := fmt.Sprintf("namespaces/ns-%02d/type-%d/obj-%05d.yaml", i%50, i%5, i)
		objects = append(objects, add(p, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-%05d\n", i)))
	}
	message := func(subject string, changed int) string {
		if !trailers {
			return subject + "\n"
		}
		return subject + "\n\n" + snapsync.Trailers{Objects: len(objects), Changed: &changed, Path: r.Prefix()}.String()
	}
	if _, err := r.Commit(b.Context(), objects, message("fill", len(objects))); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		ch := objects[(i*7)%len(objects)]
		ch.Op, ch.Data = snapsync.Modified, fmt.Appendf(nil, "n: %d\n", i)
		if _, err := r.Commit(b.Context(), []snapsync.Change{ch}, message("Update 1 object", 1)); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Sync() // keep the setup's writeback out of the timings
	// A fresh Repo, as kubesnap log opens one: no object cached.
	if r, err = Open(dir, Options{Prefix: "clusters/a", Branch: "main", ReadOnly: true}); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkLog lists a history of KUBESNAP_BENCH_COMMITS single-object
// commits (log --path clusters/a): all of it, and its first page (--limit
// 100), with kubesnap's trailers and without.
func BenchmarkLog(b *testing.B) {
	n := benchCommits(b)
	for _, trailers := range []bool{true, false} {
		r := benchHistory(b, n, trailers)
		for _, limit := range []int{0, 100} {
			b.Run(fmt.Sprintf("commits=%d/trailers=%v/limit=%d", n, trailers, limit), func(b *testing.B) {
				for b.Loop() {
					listed := 0
					if err := r.Log(LogOptions{Limit: limit}, func(Entry) error { listed++; return nil }); err != nil {
						b.Fatal(err)
					}
					if want := min(n+1, limit); limit == 0 && listed != n+1 || limit > 0 && listed != want {
						b.Fatalf("listed %d commits", listed)
					}
				}
			})
		}
	}
}
