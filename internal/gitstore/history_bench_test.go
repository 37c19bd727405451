package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// historyBenchObject is the object BenchmarkHistory follows.
const historyBenchObject = "namespaces/ns-00/deployments.apps/web.yaml"

// historyBenchRepo is a bare repository of a small cluster (300 objects,
// 10 namespaces, 3 types) and n one-object commits after it, as the
// watcher writes them (maintained every 2,000 commits), one in 100 of
// them changing historyBenchObject. It is built once per n and kept in
// the temporary folder: 100,000 commits take minutes to write. A
// repository left half-built (no "done" file) is built again.
func historyBenchRepo(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kubesnap-bench-history-v1-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	r, err := Open(dir, Options{Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { t = t.Add(time.Second); return t }
	var objects []snapsync.Change
	types := []string{"configmaps", "deployments.apps", "services"}
	for i := range 300 {
		p := fmt.Sprintf("namespaces/ns-%02d/%s/obj-%03d.yaml", i%10, types[i%3], i)
		objects = append(objects, add(p, fmt.Sprintf("apiVersion: v1\nkind: X\nmetadata:\n  name: obj-%03d\n", i)))
	}
	objects = append(objects, add(historyBenchObject, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n"))
	if _, err := r.Commit(b.Context(), objects, "fill\n"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		ch := objects[(i*7)%300]
		if i%100 == 0 {
			ch = objects[300]
		}
		ch.Op, ch.Data = snapsync.Modified, fmt.Appendf(nil, "n: %d\n", i)
		if _, err := r.Commit(b.Context(), []snapsync.Change{ch}, "Update 1 object\n"); err != nil {
			b.Fatal(err)
		}
		if i%2000 == 1999 {
			if _, err := r.Maintain(b.Context(), MaintainOptions{MinLoose: 1}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := r.Maintain(b.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkHistory lists the history of one object changed in 1 of 100
// commits of KUBESNAP_BENCH_COMMITS (3,000 when unset), as kubesnap
// history opens the repository: all of it, and its first page (--limit
// 20). Issue 18's target: at most 1 s for 1,000 changes among 100,000
// commits.
func BenchmarkHistory(b *testing.B) {
	n := benchCommits(b)
	dir := historyBenchRepo(b, n)
	var last *historyWalk
	historyWalked = func(w *historyWalk) { last = w }
	defer func() { historyWalked = nil }()
	for _, limit := range []int{0, 20} {
		b.Run(fmt.Sprintf("commits=%d/limit=%d", n, limit), func(b *testing.B) {
			for b.Loop() {
				r, err := Open(dir, Options{Branch: "main", ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				listed := 0
				if err := r.History(historyBenchObject, HistoryOptions{Limit: limit}, func(ObjectChange) error { listed++; return nil }); err != nil {
					b.Fatal(err)
				}
				if want := (n+99)/100 + 1; limit == 0 && listed != want || limit > 0 && listed != min(limit, want) {
					b.Fatalf("listed %d changes, want %d", listed, want)
				}
			}
			b.ReportMetric(float64(last.reader.commits), "commits/op")
			b.ReportMetric(float64(last.treesRead), "trees/op")
			b.ReportMetric(float64(last.packs.inflated+last.reader.packs.inflated), "inflated/op")
		})
	}
}
