package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/client-go/rest"
)

// cluster connects as the command line does (client-go defaults, raised
// QPS), not with the test environment's settings.
func cluster(b *testing.B) *kube.Cluster {
	b.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 0, 0
	c, err := kube.New(cfg, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCommitOne commits one changed object into a repository holding
// the whole cluster and into one holding a single namespace: a commit's
// cost must not grow with the repository. The commits alternate between
// the two repositories, each timed on its own, so that both see the same
// machine (etcd's fsyncs, the file system's writeback) at the same
// moments; the medians, and their ratio, are the cost. No benchmark
// removes its files before the process ends (see scratch), so that the
// file system's work on tens of thousands of deleted files lands in none
// of the timings.
func BenchmarkCommitOne(b *testing.B) {
	fill(b)
	c := cluster(b)
	type target struct {
		name    string
		repo    *gitstore.Repo
		objects int
		times   []time.Duration
	}
	var targets []*target
	for _, size := range []struct {
		name   string
		filter canonical.Filter
	}{
		{"one-namespace", canonical.Filter{IncludeNamespaces: []string{nsName(0)}, IncludeResources: []string{"configmaps"}}},
		{"whole-cluster", canonical.Filter{}},
	} {
		repo, err := gitstore.Open(filepath.Join(scratch(b), size.name), gitstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := snapsync.Snapshot(context.Background(), c, repo, snapsync.Options{Filter: size.filter})
		if err != nil {
			b.Fatal(err)
		}
		targets = append(targets, &target{name: size.name, repo: repo, objects: res.Objects})
	}
	// Flush the files the setup wrote, so that their writeback does not
	// land in the timed commits.
	syscall.Sync()
	id := canonical.ID{Resource: "configmaps", Namespace: nsName(0), Name: "obj-00000"}
	// Each iteration makes commitsPerOp commits in each repository, so
	// that few iterations still give many commits.
	const commitsPerOp = 20
	i := 0
	b.ResetTimer()
	for b.Loop() {
		for range commitsPerOp {
			i++
			data := fmt.Appendf(nil, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-00000\n  namespace: %s\ndata:\n  n: %q\n", nsName(0), fmt.Sprint(i))
			ch := snapsync.Change{Op: snapsync.Modified, Path: canonical.PathOf(id), Data: data, ID: id}
			for _, t := range targets {
				start := time.Now()
				if _, err := t.repo.Commit(context.Background(), []snapsync.Change{ch}, "Update 1 object\n"); err != nil {
					b.Fatal(err)
				}
				t.times = append(t.times, time.Since(start))
			}
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var medians []time.Duration
	for _, t := range targets {
		slices.Sort(t.times)
		med := t.times[len(t.times)/2]
		medians = append(medians, med)
		b.ReportMetric(ms(med), t.name+"-p50-ms")
		b.ReportMetric(ms(t.times[len(t.times)*9/10]), t.name+"-p90-ms")
		b.ReportMetric(float64(t.objects), t.name+"-objects")
	}
	b.ReportMetric(float64(medians[1])/float64(medians[0]), "p50-ratio")
}

// BenchmarkBareList is the floor (bareList) on its own. It also reports
// how long the fill took, in fill-s.
func BenchmarkBareList(b *testing.B) {
	fill(b)
	c := cluster(b)
	types := capturedTypes(b, c)
	n := 0
	for b.Loop() {
		_, n = bareList(b, c, types)
	}
	b.ReportMetric(float64(n), "objects")
	b.ReportMetric(float64(len(types)), "types")
	b.ReportMetric(fillTime.Seconds(), "fill-s")
}

// BenchmarkSnapshotInitial snapshots the cluster into an empty repository:
// discovery, LIST at one resourceVersion, normalize, marshal, write every
// object (one pack) and commit; with a worktree also every file and its
// index entry, without (a bare repository) only the git objects.
func BenchmarkSnapshotInitial(b *testing.B) {
	fill(b)
	c := cluster(b)
	for _, bare := range []bool{false, true} {
		b.Run(fmt.Sprintf("bare=%v", bare), func(b *testing.B) {
			var res snapsync.Result
			var listing, committing time.Duration
			floor := measureListFloor(b, c)
			for b.Loop() {
				b.StopTimer()
				dir := scratch(b)
				b.StartTimer()
				start := time.Now()
				var listed time.Time
				progress := func(p snapsync.Progress) {
					if p.Committing > 0 {
						listed = time.Now()
					}
				}
				repo, err := gitstore.Open(filepath.Join(dir, "repo"), gitstore.Options{Bare: bare})
				if err != nil {
					b.Fatal(err)
				}
				if res, err = snapsync.Snapshot(context.Background(), c, repo, snapsync.Options{Progress: progress}); err != nil {
					b.Fatal(err)
				}
				listing += listed.Sub(start)
				committing += time.Since(listed)
			}
			b.ReportMetric(float64(res.Objects), "objects")
			// Where the time went: listing (with normalizing, marshalling
			// and staging each object) and then the commit.
			b.ReportMetric(listing.Seconds()/float64(b.N), "list-s/op")
			b.ReportMetric(committing.Seconds()/float64(b.N), "commit-s/op")
			floor.report(b, "snapshot", (listing+committing)/time.Duration(b.N))
		})
	}
}

// BenchmarkSnapshotUnchanged snapshots a cluster whose repository is up to
// date: everything is listed and normalized, nothing is written.
func BenchmarkSnapshotUnchanged(b *testing.B) {
	fill(b)
	c := cluster(b)
	repo, err := gitstore.Open(filepath.Join(scratch(b), "repo"), gitstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := snapsync.Snapshot(context.Background(), c, repo, snapsync.Options{}); err != nil {
		b.Fatal(err)
	}
	floor := measureListFloor(b, c)
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := snapsync.Snapshot(context.Background(), c, repo, snapsync.Options{})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if res.Commit != "" {
			b.Fatalf("snapshot of an unchanged cluster committed %d changes", len(res.Changes))
		}
	}
	floor.report(b, "unchanged", total/time.Duration(b.N))
}

// BenchmarkSnapshotCommand runs the kubesnap binary into an empty
// repository, as a user would, and reports its peak RSS.
func BenchmarkSnapshotCommand(b *testing.B) {
	fill(b)
	floor := measureListFloor(b, cluster(b))
	var peak float64
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		repo := filepath.Join(scratch(b), "repo")
		b.StartTimer()
		start := time.Now()
		cmd := exec.Command(kubesnap, "snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig)
		out, rss, err := runMeasured(cmd)
		if err != nil {
			b.Fatalf("kubesnap snapshot: %v\n%s", err, out)
		}
		total += time.Since(start)
		peak = max(peak, rss)
	}
	b.ReportMetric(peak, "peak-MiB")
	floor.report(b, "snapshot", total/time.Duration(b.N))
}
