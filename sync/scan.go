package sync

import (
	"context"
	"sort"
	"strings"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
)

// listed is the outcome of one type's LIST.
type listed struct {
	t        canonical.Type
	complete bool // every object in scope was seen
	fresh    bool
	objects  int
	skip     string // why the type was not captured, if it was not
	err      error  // a fatal error (context ended)
}

// scanned is the cluster compared with a revision, object by object.
type scanned struct {
	// res has every field of a snapshot's Result but Commit and
	// Changes; its Coverage has no Rules.
	res Result
	// stored are the revision's files, path → blob id.
	stored map[string]string
	// changes turn the revision into the live state: Added for objects
	// only live, Modified for objects whose bytes differ (Data is the
	// live bytes), Deleted for objects gone from the cluster.
	changes map[string]Change
	types   int // how many types were listed
	// enc is the render cache the scan used; later marshalling of the
	// same run reuses it.
	enc *canonical.Encoder
}

// scan lists every captured type at one resourceVersion and compares each
// object with the revision rd.
func scan(ctx context.Context, src Source, rd Reader, opts Options) (scanned, error) {
	if err := opts.Secrets.check(); err != nil && !opts.keepPlain {
		return scanned{}, err
	}
	disc, err := src.Discover(ctx)
	if err != nil {
		return scanned{}, err
	}
	rv, err := src.ResourceVersion(ctx)
	if err != nil {
		return scanned{}, err
	}
	cov := Coverage{Scope: opts.Filter}
	todo, skipped, facts := chooseTypes(disc, opts.Filter, opts.Secrets)
	facts.Rules = opts.Rules
	cov.Skipped = skipped
	enc := new(canonical.Encoder) // one render cache for the whole scan
	stored, err := storedFiles(ctx, rd, opts.Secrets, opts.Secrets.sensitiveDirs(), enc)
	if err != nil {
		return scanned{}, err
	}

	var stager Stager
	if opts.stage {
		stager, _ = rd.(Stager)
	}
	c := &collector{stored: stored, st: rd, stager: stager, seen: map[string]bool{}, changes: map[string]Change{}, secrets: opts.Secrets, enc: enc, keepPlain: opts.keepPlain, keepManaged: opts.keepManaged, prime: opts.prime}
	results := make([]listed, len(todo))
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	done, total := 0, 0
	next := make(chan int)
	for range min(workers, max(len(todo), 1)) {
		wg.Go(func() {
			for i := range next {
				results[i] = c.list(ctx, src, todo[i], rv, facts, opts.Filter)
				if opts.Progress != nil {
					mu.Lock()
					done++
					total += results[i].objects
					opts.Progress(Progress{Types: len(todo), TypesDone: done, Objects: total})
					mu.Unlock()
				}
			}
		})
	}
	for i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return scanned{}, err
	}

	res := Result{ResourceVersion: rv, ServerVersion: disc.ServerVersion, Facts: facts}
	complete := map[string]bool{} // resource dirs listed in full
	for _, sk := range skipped {
		if sk.Reason == notStoredReason {
			complete[sk.Resource] = true // none may be stored: all go
		}
	}
	served := map[string]bool{} // resource dirs the server still serves
	for _, t := range disc.Types {
		served[t.ResourceDir()] = true
	}
	for _, r := range results {
		if r.err != nil {
			return scanned{}, r.err
		}
		if r.skip != "" {
			cov.Skipped = append(cov.Skipped, SkippedType{Resource: r.t.ResourceDir(), Reason: r.skip})
			continue
		}
		complete[r.t.ResourceDir()] = r.complete
		res.Objects += r.objects
		res.Captured = append(res.Captured, r.t)
		cov.Captured = append(cov.Captured, CapturedType{Resource: r.t.ResourceDir(), Version: r.t.Version, Kind: r.t.Kind, Objects: r.objects})
		if r.fresh {
			res.FreshTypes = append(res.FreshTypes, r.t.ResourceDir())
		}
	}
	failedGroups := map[string]bool{}
	for gv, msg := range disc.FailedGroups {
		cov.FailedGroups = append(cov.FailedGroups, FailedGroup{GroupVersion: gv, Error: msg})
		g, _, _ := strings.Cut(gv, "/")
		failedGroups[g] = true
	}

	// Deletions: a stored object is gone when its type was listed in full
	// and the object was not seen, or when the server no longer serves its
	// type at all (its CRD was deleted) and the group's discovery worked.
	for path := range stored {
		if c.seen[path] || strings.HasPrefix(path, ".kubesnap/") {
			continue
		}
		id, err := canonical.ParsePath(path)
		if err != nil {
			continue // not a file kubesnap wrote: leave it alone
		}
		dir := id.ResourceDir()
		gone := complete[dir] || !served[dir] && !failedGroups[id.Group]
		if !gone || !opts.Filter.ID(id) {
			continue
		}
		if in, err := storedInScope(ctx, rd, opts.Filter, path); err != nil {
			return scanned{}, err
		} else if !in {
			continue
		}
		c.changes[path] = Change{Op: Deleted, Path: path, ID: id}
	}

	cov.sort()
	res.Coverage = cov
	sort.Strings(res.FreshTypes)
	return scanned{res: res, stored: stored, changes: c.changes, types: len(todo), enc: enc}, nil
}
