package bench

import (
	"context"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// capturedTypes returns the types a snapshot captures by default.
func capturedTypes(b *testing.B, c *kube.Cluster) []canonical.Type {
	b.Helper()
	disc, err := c.Discover(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var types []canonical.Type
	for _, t := range disc.Types {
		if _, skip := canonical.SkipType(t); !skip {
			types = append(types, t)
		}
	}
	return types
}

// bareList is the floor every scale target is a ratio to: a paged LIST
// (500 a page) of every type a snapshot captures, one type after another,
// by the same client, doing nothing with the objects. It returns the time
// and how many objects it saw.
func bareList(b *testing.B, c *kube.Cluster, types []canonical.Type) (time.Duration, int) {
	b.Helper()
	ctx := context.Background()
	n := 0
	start := time.Now()
	for _, t := range types {
		if _, err := c.List(ctx, t, snapsync.ListOptions{}, func(*unstructured.Unstructured) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start), n
}

// listFloor is the same run's bare LIST for a benchmark whose target is a
// ratio to it: measured once before the benchmark's timed work and once
// after, so that the ratio sees the machine as the work did (other
// processes share its two cores).
type listFloor struct {
	c      *kube.Cluster
	types  []canonical.Type
	before time.Duration
}

// measureListFloor lists the whole cluster once, untimed by b.
func measureListFloor(b *testing.B, c *kube.Cluster) *listFloor {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	f := &listFloor{c: c, types: capturedTypes(b, c)}
	f.before, _ = bareList(b, c, f.types)
	return f
}

// report lists the cluster again and reports the mean of both LISTs as
// list-s, and op (the benchmark's time for one run of what it measures)
// as its ratio to that, in <name>-x-list.
func (f *listFloor) report(b *testing.B, name string, op time.Duration) {
	b.Helper()
	b.StopTimer()
	after, _ := bareList(b, f.c, f.types)
	list := (f.before + after) / 2
	b.ReportMetric(list.Seconds(), "list-s")
	b.ReportMetric(op.Seconds()/list.Seconds(), name+"-x-list")
}
