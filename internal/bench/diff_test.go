package bench

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// driftedRepo snapshots the cluster into a bare repository and, when
// drifted is set, commits changed data for 1,000 of its ConfigMaps, so that
// the revision differs from the live cluster in those objects.
func driftedRepo(b *testing.B, drifted int) (dir string, repo *gitstore.Repo) {
	b.Helper()
	dir = filepath.Join(scratch(b), "repo")
	repo, err := gitstore.Open(dir, gitstore.Options{Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := snapsync.Snapshot(ctx, cluster(b), repo, snapsync.Options{}); err != nil {
		b.Fatal(err)
	}
	var changes []snapsync.Change
	for i := 0; len(changes) < drifted; i += 10 { // i%10 == 0: a ConfigMap
		ns, name := nsName(i%namespaces), fmt.Sprintf("obj-%05d", i)
		id := canonical.ID{Resource: "configmaps", Namespace: ns, Name: name}
		data := fmt.Appendf(nil, "apiVersion: v1\ndata:\n  config.yaml: |\n    replicas: 99\nkind: ConfigMap\nmetadata:\n  labels:\n    app: %s\n    tier: bench\n  name: %s\n  namespace: %s\n", name, name, ns)
		changes = append(changes, snapsync.Change{Op: snapsync.Modified, Path: canonical.PathOf(id), Data: data, ID: id})
	}
	if len(changes) > 0 {
		if _, err := repo.Commit(ctx, changes, "Drift\n"); err != nil {
			b.Fatal(err)
		}
	}
	return dir, repo
}

// BenchmarkDiff compares a revision of the whole cluster with the live
// cluster, in process: discovery, LIST at one resourceVersion, normalize,
// marshal, hash, compare; for the objects that differ also read the stored
// file, check it is canonical, and build the unified diffs and the report.
// Compare with BenchmarkBareList.
func BenchmarkDiff(b *testing.B) {
	fill(b)
	c := cluster(b)
	for _, drifted := range []int{0, 1000} {
		b.Run(fmt.Sprintf("drifted=%d", drifted), func(b *testing.B) {
			_, repo := driftedRepo(b, drifted)
			rev, err := repo.At("")
			if err != nil {
				b.Fatal(err)
			}
			var rep diff.Report
			floor := measureListFloor(b, c)
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				res, err := snapsync.Drift(context.Background(), c, rev, snapsync.DriftOptions{})
				if err != nil {
					b.Fatal(err)
				}
				pairs := make([]diff.Pair, len(res.Objects))
				for i, d := range res.Objects {
					pairs[i] = diff.Pair{ID: d.ID, Path: d.Path, From: d.From, To: d.To, Note: d.Note}
				}
				rep = diff.Build(pairs, res.Compared, diff.Options{From: "HEAD", To: "live", Live: true})
				if err := rep.WriteText(io.Discard, false); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			if len(rep.Entries) != drifted {
				b.Fatalf("diff found %d drifted objects, want %d", len(rep.Entries), drifted)
			}
			b.ReportMetric(float64(rep.Compared), "objects")
			floor.report(b, "diff", total/time.Duration(b.N))
		})
	}
}

// BenchmarkDiffCommand runs kubesnap diff as a user would, against a
// revision where 1,000 objects drifted, and reports its peak RSS.
func BenchmarkDiffCommand(b *testing.B) {
	fill(b)
	dir, _ := driftedRepo(b, 1000)
	floor := measureListFloor(b, cluster(b))
	var peak float64
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command(kubesnap, "diff", "--repo", dir, "--kubeconfig", env.Kubeconfig, "-o", "json")
		cmd.Stdout = io.Discard
		_, rss, err := runMeasured(cmd)
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			b.Fatalf("kubesnap diff: %v, want exit 1 (drift)", err)
		}
		total += time.Since(start)
		peak = max(peak, rss)
	}
	b.ReportMetric(peak, "peak-MiB")
	floor.report(b, "diff", total/time.Duration(b.N))
}
