// Package sync reads a cluster and keeps a repository equal to it.
//
// # Snapshot
//
// A snapshot is one consistent cut of the cluster written as one commit:
//
//	types := discover()                          preferred versions, minus SkipType and the filter
//	rv    := current resourceVersion             read once
//	for each type, in parallel:
//	    LIST at rv (resourceVersionMatch=Exact), paged; fall back to a fresh
//	    LIST where the server cannot serve rv (410, aggregated APIs)
//	    for each object: SkipObject, filter, Normalize, Marshal, PathOf
//	    compare the bytes' blob id with the one at HEAD: equal → nothing to do
//	delete stored files whose object is gone, but only for types that were
//	listed completely (a forbidden or failed LIST deletes nothing)
//	write .kubesnap/coverage.yaml; commit if anything changed
//
// The package never imports client-go or go-git: it reads the cluster
// through Source and writes through Store, which internal/kube and
// internal/gitstore implement.
package sync
