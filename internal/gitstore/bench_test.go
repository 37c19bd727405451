package gitstore

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// BenchmarkCommitOne commits one changed file into repositories of 100 and
// 10,000 files laid out as kubesnap lays them out (50 namespaces, 5 types).
func BenchmarkCommitOne(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			r, err := Open(filepath.Join(b.TempDir(), "repo"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			var changes []snapsync.Change
			for i := range n {
				p := fmt.Sprintf("namespaces/ns-%02d/type-%d/obj-%05d.yaml", i%50, i%5, i)
				changes = append(changes, add(p, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-%05d\ndata:\n  n: %q\n", i, "0")))
			}
			if _, err := r.Commit(b.Context(), changes, "fill\n"); err != nil {
				b.Fatal(err)
			}
			syscall.Sync() // keep the setup's writeback out of the timings
			i := 0
			for b.Loop() {
				i++
				ch := changes[0]
				ch.Op, ch.Data = snapsync.Modified, fmt.Appendf(nil, "n: %d\n", i)
				if _, err := r.Commit(b.Context(), []snapsync.Change{ch}, "one\n"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
