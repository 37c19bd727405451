// Package bench holds kubesnap's benchmarks against a real control plane
// (make bench): a cluster of KUBESNAP_BENCH_OBJECTS objects (10,000 by
// default) in 50 namespaces, snapshotted as users would. The figures are
// recorded in BENCHMARKS.md.
//
// Every benchmark starts with fill, which calls testenv.Require (so that
// go test -short skips them without the binaries) and fills the cluster
// once, with 64 clients and no client-side rate limit; BenchmarkBareList
// reports how long that took (fill-s).
//
// # At scale
//
// make bench-scale runs the benchmarks of the scale targets once each at
// 300,000 objects (BENCH_SCALE_OBJECTS), cheap ones (KUBESNAP_BENCH_CHEAP=1:
// mostly small ConfigMaps, no Deployments or Services; see create). Each
// benchmark whose target is a ratio to the bare paged LIST lists the
// cluster right before and right after its timed work and reports the
// mean (list-s) and its own time's ratio to it (snapshot-x-list,
// unchanged-x-list, ready-x-list, diff-x-list): the machine is shared, so
// only the same run's LIST is a fair floor.
//
// # Files
//
//	setup_test.go     TestMain, the control plane, fill (cheap or mixed), the kubesnap binary, peak RSS
//	list_test.go      the bare LIST: the types a snapshot captures, listFloor and the x-list ratios
//	snapshot_test.go  bare LIST and fill time, first and unchanged snapshots, one commit, the command
//	watch_test.go     watch ready time (startup-s, ready-x-list), RSS, latency and throughput
//	diff_test.go      diff against a drifted repository, the library and the command
//	restore_test.go   restore of a repository into the cluster
package bench
