// Package restore applies a revision's objects to a cluster. It plans
// first and changes nothing while planning; then it applies the plan. The
// cluster is reached through Target (ports.go), implemented by
// internal/kube, and the revision through Revision, implemented by
// internal/gitstore.
//
// # Algorithm
//
//	objs  := Load(rev, filter, unseal)         parse every file in scope
//	objs   = Kustomize(dir, objs, target)      optional: transform
//	plan  := MakePlan(target, objs, opts)
//	           map namespaces (--namespace-map)
//	           per object: its phase, or skip (type not served, values
//	             redacted or encrypted, a skip rule)
//	           list the live objects of every type in scope (compareLive):
//	             live bytes to compare, and with --prune the live objects
//	             the revision does not hold (prune, or keep and why)
//	           settle: create when not live, unchanged when the canonical
//	             bytes match, else a server-side dry-run decides:
//	             unchanged, or update (--force) / differs
//	release := target.Hold(holder, rev)        the restore lease: watchers
//	                                           hold their commits meanwhile
//	Apply(target, plan, opts)
//	           phase by phase (CRDs, namespaces, cluster policy, namespace
//	             setup, volumes, claims, services, workloads, the rest,
//	             admission last so that webhooks cannot block the rest):
//	             every object of a phase, a few at a time, before any of
//	             the next; after the CRDs, wait until each is established
//	           prunes last, latest phase first
//	           a failure is recorded and the restore goes on
//
// # Files
//
//	ports.go      Target, FieldManager, ErrNotServed, ErrImmutable
//	load.go       Revision, Object, Load: read and parse a revision
//	open.go       open: one file parsed, decrypted or left sealed
//	scope.go      ReadScope: what the snapshot captured; never-pruned objects
//	kustomize.go  Kustomize: run a kustomization over the revision
//	identify.go   the identity and path of each object it builds
//	clone.go      --namespace-map: move objects and the filter's namespaces
//	phase.go      Phase, PhaseOf: the order types are applied in
//	plan.go       Action, Item, Plan, Options, MakePlan
//	served.go     types a revision's CRDs define, unserved versions
//	prune.go      compareLive: live objects, and what --prune deletes or keeps
//	settle.go     settle: each object's action, by bytes or dry-run
//	apply.go      Apply: carry out a plan, phase by phase
package restore
