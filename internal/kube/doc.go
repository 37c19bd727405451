// Package kube is kubesnap's only client-go code: cluster access from a
// kubeconfig, discovery, paged lists, informers, server-side apply,
// dry-run, and the Leases of leader election and of a running restore.
// Cluster implements the cluster side of package sync (Source, Informers,
// DryRunner); Target, built by Cluster.Target, implements restore.Target.
//
// # Writes
//
// A restore's apply is a server-side apply under restore.FieldManager.
// With force, takeOver first makes kubesnap the one owner of the fields
// other managers set (as Flux's ssa does), leaving to their managers the
// fields the user's rules ignore, so that the apply removes what the
// revision does not hold. A refusal comes back as one line saying why
// and what to do (errors.go).
//
// # The restore lease
//
// A restore holds the Lease kube-system/kubesnap-restore while it runs
// (Target.Hold), written as client-go's leader election writes its
// record, and renews it every third of RestoreLeaseDuration. Watchers
// read it (Cluster.RestoreHeld) and hold their commits while it is held.
// They judge freshness as client-go's LeaderElector does: by when this
// process saw the lease's record change, plus its duration, never by the
// holder's renewTime against the local clock. Hold, which runs once and
// cannot wait a duration to observe, takes over a lease whose renewTime is
// older than its duration.
//
// # Files
//
//	kube.go          Cluster: Connect, New, Check
//	discover.go      Discover (types, server version, aggregated APIs) and
//	                 undiscovered (a CRD's types not yet in discovery)
//	list.go          paged List at a resourceVersion, Get, ResourceVersion
//	names.go         Names, Namespaces: one page of names, for completion
//	inform.go        Inform: dynamic informers for the watcher
//	inform_primed.go the informers' list-watch, whose first list may be
//	                 primed from the snapshot's (sync.Primed)
//	dryrun.go        DryRunApply for diff, and its refusals
//	digestkey.go     DigestKey: the Secret holding the key of value digests
//	leader.go        LeaderElect: the watcher's leader election
//	target.go        Target, Served, Each, the client of one type
//	apply.go         Target.Apply and DryRun
//	takeover.go      takeOver: managedFields before a forced apply
//	delete.go        Target.Delete
//	wait.go          Target.WaitEstablished: a CRD established and served
//	errors.go        what a refused write, or an unreachable server, means
//	restorelease.go  the restore lease's name, duration, annotation, errors
//	hold.go          Target.Hold: take the restore lease
//	hold_renew.go    renew it while the restore runs, remove it after
//	restoreheld.go   Cluster.RestoreHeld and leaseObserver: is it held
package kube
