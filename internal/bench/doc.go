// Package bench holds kubesnap's benchmarks against a real control plane
// (make bench): a cluster of KUBESNAP_BENCH_OBJECTS objects (10,000 by
// default) in 50 namespaces, snapshotted as users would. The figures are
// recorded in BENCHMARKS.md.
package bench
