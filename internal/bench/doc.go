// Package bench holds kubesnap's benchmarks against a real control plane
// (make bench): a cluster of KUBESNAP_BENCH_OBJECTS objects (10,000 by
// default) in 50 namespaces, snapshotted as users would. The figures are
// recorded in BENCHMARKS.md.
//
// Every benchmark starts with fill, which calls testenv.Require (so that
// go test -short skips them without the binaries) and fills the cluster
// once.
//
// # Files
//
//	setup_test.go     TestMain, the control plane, fill, the kubesnap binary, peak RSS
//	snapshot_test.go  bare LIST, first and unchanged snapshots, one commit, the command
//	watch_test.go     watch latency and throughput
//	diff_test.go      diff against a drifted repository, the library and the command
//	restore_test.go   restore of a repository into the cluster
package bench
