package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	gosync "sync"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// BenchmarkStagedFirstCommit stages KUBESNAP_BENCH_OBJECTS (default
// 100,000) ConfigMap-sized files from 4 goroutines, as a first snapshot's
// list workers do, into a bare repository, and commits them with changes
// that carry no bytes, as Snapshot hands them over. It reports the live
// heap once everything is staged (after a GC: what the commit waits
// with) and the time of the commit alone.
func BenchmarkStagedFirstCommit(b *testing.B) {
	n := 100000
	if s := os.Getenv("KUBESNAP_BENCH_OBJECTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	name := func(i int) string { return fmt.Sprintf("namespaces/ns-%02d/configmaps/obj-%06d.yaml", i%50, i) }
	var heap, commit float64
	for b.Loop() {
		b.StopTimer()
		r, err := Open(filepath.Join(b.TempDir(), "repo"), Options{Bare: true})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		changes := make([]snapsync.Change, n)
		var wg gosync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < n; i += 4 {
					data := fmt.Appendf(nil, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-%06d\n  namespace: ns-%02d\n  labels:\n    app: bench\ndata:\n  n: %q\n  payload: %q\n", i, i%50, strconv.Itoa(i), fmt.Sprintf("%0400d", i))
					r.Stage(name(i), data)
					changes[i] = snapsync.Change{Op: snapsync.Added, Path: name(i)}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		runtime.GC()
		var staged runtime.MemStats
		runtime.ReadMemStats(&staged)
		heap = float64(staged.HeapAlloc-before.HeapAlloc) / (1 << 20)
		b.StartTimer()
		start := b.Elapsed()
		if _, err := r.Commit(b.Context(), changes, "first\n"); err != nil {
			b.Fatal(err)
		}
		commit = (b.Elapsed() - start).Seconds()
		runtime.KeepAlive(changes)
	}
	b.ReportMetric(heap, "staged-heap-MiB")
	b.ReportMetric(commit, "commit-s")
}
