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
//	write .kubesnap/coverage.txt; commit if anything changed
//
// # Watch
//
// A Watcher keeps the branch equal to the live cluster:
//
//	Snapshot (as above), then read the branch's blob ids into stored
//	for each captured type: an informer whose transform normalizes and
//	    marshals each object (reading its manager before managedFields
//	    go), so the cache keeps only the canonical bytes
//	wait until every informer synced; stored objects no informer saw
//	    went away meanwhile: pending deletes
//	loop:
//	    event       → blob id equal to stored? drop any pending change of
//	                  the path : pending[path] = change
//	    quiet for Debounce, or MaxDelay since the first pending change
//	                → unless the restore Lease is fresh: take pending,
//	                  update stored at once (events during the commit
//	                  compare with what is being committed), commit;
//	                  on failure put both back and retry with backoff
//	    after a commit → push; if the remote moved, our commits were
//	                  rebased: read stored again and re-derive every file
//	                  both sides changed from the informers (live wins)
//	    CRD event or every Rediscover → start informers of new types,
//	                  stop those of types no longer served (their files
//	                  leave)
//	    Schedule    → Snapshot (a fresh LIST catches what a watch missed),
//	                  re-derive paths changed meanwhile, tag
//	                  snapshot/<UTC time>, delete tags past the retention
//	ctx ends      → commit what is pending, push, return nil
//
// Nothing is lost on a crash: a restarted watcher begins with a full
// snapshot.
//
// The package never imports client-go or go-git: it reads the cluster
// through Source and writes through Store, which internal/kube and
// internal/gitstore implement.
package sync
