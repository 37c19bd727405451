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
//	    else, to a store that stages (Stager): hand it the bytes now, and
//	        keep only the change without them (Commit finds them by path)
//	delete stored files whose object is gone, but only for types that were
//	listed completely (a forbidden or failed LIST deletes nothing)
//	write .kubesnap/coverage.txt; commit if anything changed (a failed or
//	    cancelled snapshot Unstages)
//
// # Watch
//
// A Watcher keeps the branch equal to the live cluster:
//
//	capture     Snapshot (as above), then read the branch's blob ids into stored
//	informers   for each captured type: an informer whose transform normalizes
//	            and marshals each object (reading its manager before
//	            managedFields go), so the cache keeps only a Kept: the
//	            object's key and its file's blob id; the file's bytes
//	            travel to the handler only when that id differs from the
//	            stored one, and leave the Kept for the pending set there
//	            (an object whose bytes are gone when needed is read again)
//	            wait until every informer synced; stored objects no informer
//	            saw went away meanwhile: pending deletes
//	loop:
//	    pending     event → blob id equal to stored? drop any pending change
//	                of the path : pending[path] = change (with its bytes)
//	    debounce    quiet for Debounce, or MaxDelay since the first pending
//	                change → commit
//	    commit      unless the restore lease is held and fresh (then wait
//	                HoldRecheck; a lease that cannot be read holds nothing):
//	                take pending, update stored at once (events during the
//	                commit compare with what is being committed), commit; on
//	                failure put both back (a newer pending change wins) and
//	                retry after a backoff (1s doubling to 5m)
//	    authors     with Audit: a change whose audit event has not come waits
//	                up to AuditWait from when it was seen; the batch becomes
//	                one commit per user, authored by them (changes no event
//	                matched first, by kubesnap, naming their managers); a
//	                failed commit puts back its changes and the later ones'
//	    maintain    every 32 commits, when the store is a Maintainer: the
//	                new pack is written in a goroutine while commits go
//	                on; the loop swaps it in between two commits; up to
//	                two at once (beside a long one, the store packs only
//	                what is safe alongside); a failure is logged and
//	                counted, never stops the loop
//	    push        after a commit; a push that lost its races to other
//	                writers is retried in 1-3s, other failures back off
//	    rebase refresh  if the remote moved, our commits were rebased: read
//	                stored again and re-derive every file both sides changed
//	                from the informers (live wins)
//	    rediscover  on a CRD or APIService event, and every Rediscover: start
//	                informers of new types, stop those of types no longer
//	                served (their files leave), follow new versions
//	    schedule    Snapshot (a fresh LIST catches what a watch missed),
//	                re-derive paths changed meanwhile, tag snapshot/<UTC
//	                time>, delete tags past the retention
//	ctx ends    → commit what is pending, push, return nil (ErrAbandon as
//	              the cause: return at once, committing nothing)
//
// Nothing is lost on a crash: a restarted watcher begins with a full
// snapshot.
//
// # Drift
//
// Drift scans the cluster as a snapshot does, against a revision instead
// of the branch head, and reports what differs; files edited by hand are
// compared as the server would store them (a server-side dry-run).
// CompareRevisions compares two revisions without a cluster.
//
// # Where things live
//
//	ports.go            the interfaces the package consumes (Source, Informers,
//	                    Store, Prefixed, Remote, …) and Kept, what an informer keeps
//	ports_audit.go      Audit (who made a change, from the API server's audit
//	                    events), Actor, AuthoredStore and Author
//	doc.go              this overview
//	snapshot.go         Options, Result, Snapshot
//	scan.go             scan: list every type at one resourceVersion, find the deletions
//	collect.go          collector: one type's LIST, each object's change
//	choose.go           chooseTypes: which discovered types are captured
//	render.go           objectFile and render: one live object as its file
//	scope.go            fanOut (namespaces and selector of a LIST or watch),
//	                    storedInScope (may a stored file leave under a selector)
//	secrets.go          secret modes, sealing, stored files in the encrypt mode
//	coverage.go         the coverage report
//	message.go          commit messages, JoinFirst
//	trailers.go         Trailers, a message's last paragraph (Kubesnap-Changed
//	                    and Kubesnap-Path are what kubesnap log reads), Trailer
//	owned.go            HoldsSnapshot: is a repository kubesnap's
//	drift.go            Drift and its result
//	drift_dryrun.go     dry-runs of hand-edited files
//	drift_files.go      reading a revision's files for Drift
//	compare.go          CompareRevisions
//	schedule.go         Schedule, ParseSchedule
//	watch.go            WatchOptions, Watcher, NewWatcher, Run, shutdown
//	watch_observer.go   Observer
//	watch_loop.go       the loop and when it wakes
//	watch_inform.go     starting and stopping a type's informers
//	prime.go            primer: the first snapshot's lists, kept for the
//	                    informers to start from (Primed)
//	watch_event.go      informer events into pending changes, rederive
//	watch_kept.go       the transform (what an informer keeps: a blob id, bytes
//	                    only when changed), keptChange, reading an object again
//	watch_unseen.go     waiting for informers to sync, deleting what they did not see
//	watch_pending.go    pendingSet: the changes waiting for a commit
//	watch_commit.go     commit, the restore lease, rollback, the coverage file
//	watch_audit.go      waiting for a change's audit event, one commit per
//	                    user, the audit trailers
//	watch_retry.go      the backoffs of failed commits and pushes
//	watch_push.go       push, and refreshing stored after a rebase
//	watch_maintain.go   the store's maintenance off the commit path
//	maintain.go         Maintainer and MaintainResult
//	watch_health.go     following the API server (readiness)
//	watch_schedule.go   scheduled snapshots, tags and their retention
//	watch_rediscover.go new, gone and re-versioned types
//
// The package never imports client-go or go-git: it reads the cluster
// through Source and writes through Store, which internal/kube and
// internal/gitstore implement.
package sync
