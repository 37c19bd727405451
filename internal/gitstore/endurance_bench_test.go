package gitstore

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkEndurance is months of a watcher in a few minutes: a
// 2,000-object snapshot, then KUBESNAP_BENCH_COMMITS (3,000 when unset)
// one-object commits with the maintenance the watcher runs. It reports
// the .git size against the same repository after git gc, the most loose
// objects seen, the packs, commit latency over the first and last tenth
// (p50, p99), the worst commit while a maintenance wrote its pack, and
// kubesnap log over the whole history. Run it once: -benchtime=1x.
func BenchmarkEndurance(b *testing.B) {
	n := benchCommits(b)
	for range b.N {
		dir := filepath.Join(b.TempDir(), "repo")
		r, _ := historyRepo(b, dir, 2000, 0)
		lat := make([]time.Duration, 0, n)
		var worstMaint time.Duration
		maxLoose := 0
		start := time.Now()
		maintainAsTheWatcher(b, r, n, func(_ int, _ string, took time.Duration, maintaining bool) {
			lat = append(lat, took)
			if maintaining {
				worstMaint = max(worstMaint, took)
			}
			maxLoose = max(maxLoose, looseCount(b, dir))
		})
		elapsed := time.Since(start)
		gitDir := filepath.Join(dir, ".git")
		size := duBytes(b, gitDir)
		st, err := scanObjects(filepath.Join(gitDir, "objects"), nil)
		if err != nil {
			b.Fatal(err)
		}
		// The replaced packs still in their grace period, then gone.
		waiting := len(st.packs)
		res, err := r.Maintain(b.Context(), MaintainOptions{MinLoose: 1})
		if err != nil {
			b.Fatal(err)
		}
		waiting -= res.PacksAfter
		sizeSettled := duBytes(b, gitDir)
		// kubesnap log over every commit, as the command opens it.
		logStart := time.Now()
		rd, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		listed := 0
		if err := rd.Log(LogOptions{}, func(Entry) error { listed++; return nil }); err != nil {
			b.Fatal(err)
		}
		logTook := time.Since(logStart)
		gcDir := filepath.Join(b.TempDir(), "gc")
		if out, err := exec.Command("cp", "-a", dir, gcDir).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v\n%s", err, out)
		}
		if out, err := exec.Command("git", "-C", gcDir, "gc", "-q", "--prune=now").CombinedOutput(); err != nil {
			b.Fatalf("git gc: %v\n%s", err, out)
		}
		gcSize := duBytes(b, filepath.Join(gcDir, ".git"))
		// git gc keeps the deltas it finds in packs; repack -f computes
		// its own (git's default window and depth), as a gc of packs
		// without deltas would.
		freshDir := filepath.Join(b.TempDir(), "fresh")
		if out, err := exec.Command("cp", "-a", dir, freshDir).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v\n%s", err, out)
		}
		if out, err := exec.Command("git", "-C", freshDir, "repack", "-q", "-a", "-d", "-f").CombinedOutput(); err != nil {
			b.Fatalf("git repack: %v\n%s", err, out)
		}
		if out, err := exec.Command("git", "-C", freshDir, "prune", "--expire=now").CombinedOutput(); err != nil {
			b.Fatalf("git prune: %v\n%s", err, out)
		}
		freshSize := duBytes(b, filepath.Join(freshDir, ".git"))
		tenth := max(len(lat)/10, 1)
		first, last := lat[:tenth], lat[len(lat)-tenth:]
		b.ReportMetric(float64(n), "commits")
		b.ReportMetric(elapsed.Seconds(), "s-total")
		b.ReportMetric(float64(size)/(1<<20), "MiB-git")
		b.ReportMetric(float64(gcSize)/(1<<20), "MiB-after-gc")
		b.ReportMetric(float64(size)/float64(gcSize), "ratio-to-gc")
		b.ReportMetric(float64(size)/float64(n), "B/commit")
		b.ReportMetric(float64(maxLoose), "max-loose")
		b.ReportMetric(float64(len(st.packs)), "packs")
		b.ReportMetric(float64(waiting), "packs-in-grace")
		b.ReportMetric(float64(res.PacksAfter), "packs-settled")
		b.ReportMetric(float64(sizeSettled)/(1<<20), "MiB-git-settled")
		b.ReportMetric(float64(sizeSettled)/float64(gcSize), "ratio-settled-to-gc")
		b.ReportMetric(float64(freshSize)/(1<<20), "MiB-after-repack-f")
		b.ReportMetric(float64(sizeSettled)/float64(freshSize), "ratio-settled-to-repack-f")
		b.ReportMetric(ms(quantile(first, 0.5)), "ms-p50-first")
		b.ReportMetric(ms(quantile(first, 0.99)), "ms-p99-first")
		b.ReportMetric(ms(quantile(last, 0.5)), "ms-p50-last")
		b.ReportMetric(ms(quantile(last, 0.99)), "ms-p99-last")
		b.ReportMetric(ms(worstMaint), "ms-worst-while-maintaining")
		b.ReportMetric(ms(slices.Max(lat)), "ms-worst")
		b.ReportMetric(logTook.Seconds(), "s-log")
		if listed != n+1 {
			b.Errorf("log listed %d commits, want %d", listed, n+1)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile is the q-th quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// duBytes is the disk usage of dir in bytes (du -sb: apparent sizes).
func duBytes(b *testing.B, dir string) int64 {
	b.Helper()
	out, err := exec.Command("du", "-sb", dir).Output()
	if err != nil {
		b.Fatalf("du %s: %v", dir, err)
	}
	v, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		b.Fatalf("du %s: %q", dir, out)
	}
	return v
}
