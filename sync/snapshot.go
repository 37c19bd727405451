package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Options configure a snapshot.
type Options struct {
	Filter canonical.Filter
	// Cluster names the cluster in the Kubesnap-Cluster trailer.
	Cluster string
	// Workers is how many types are listed at once; 0 means 4.
	Workers int
	// Progress, when set, is called after each type is listed.
	Progress func(Progress)
	// Message renders the commit message from the changes (sorted by
	// path) and the trailers; nil means Message.
	Message func(changes []Change, t Trailers) string
	// Secrets says how the values of Secrets and other sensitive types
	// are stored; the zero value redacts them.
	Secrets Secrets
	// Rules are the user's normalization rules: the fields they remove
	// are never stored nor compared.
	Rules canonical.Rules
	// keepPlain keeps sensitive objects' plain bytes in the changes, and
	// needs no Sealer in the encrypt mode (Drift with Unseal).
	keepPlain bool
	// keepManaged keeps a modified object's managedFields in its change,
	// for Drift's manager rules to read on the stored side.
	keepManaged bool
	// CommitUnchanged calls Store.Commit even when nothing differs from
	// the store's Files. It is for a store whose Files are a base
	// revision rather than its branch head (a drift branch): the branch
	// may need a commit to catch up with the base after the drift went
	// away. Such a store's Commit returns "" when it makes no commit.
	CommitUnchanged bool
}

// Progress tells how far a snapshot got. Committing is set, to the number
// of files, once the lists are done and the commit is being written.
type Progress struct {
	Types, TypesDone, Objects int
	Committing                int
}

// Result says what a snapshot did.
type Result struct {
	Commit  string // "" when nothing changed
	Changes []Change
	Objects int
	// FreshTypes were read at the newest version, not at ResourceVersion.
	FreshTypes      []string
	ResourceVersion string
	Coverage        Coverage
	// Captured are the types listed in full or in part; ServerVersion is
	// the server's version as discovery reported it.
	Captured      []canonical.Type
	ServerVersion string
	// Facts are what Normalize was told about the capture.
	Facts canonical.Facts
}

// CoveragePath is where the coverage report lives, relative to the prefix.
const CoveragePath = canonical.CoveragePath

// listed is the outcome of one type's LIST.
type listed struct {
	t        canonical.Type
	complete bool // every object in scope was seen
	fresh    bool
	objects  int
	skip     string // why the type was not captured, if it was not
	err      error  // a fatal error (context ended)
}

// Snapshot reads every captured type at one resourceVersion and commits
// the difference to the store's branch head as one commit. It makes no
// commit when nothing changed (see Options.CommitUnchanged).
func Snapshot(ctx context.Context, src Source, st Store, opts Options) (Result, error) {
	sc, err := scan(ctx, src, st, opts)
	if err != nil {
		return Result{}, err
	}
	res, cov := sc.res, sc.res.Coverage
	cov.Rules = objectRules
	covData, err := cov.marshal()
	if err != nil {
		return Result{}, err
	}
	if id := st.BlobID(covData); sc.stored[CoveragePath] != id {
		op := Modified
		if sc.stored[CoveragePath] == "" {
			op = Added
		}
		sc.changes[CoveragePath] = Change{Op: op, Path: CoveragePath, Data: covData}
	}
	if sc.stored[canonical.LegacyCoveragePath] != "" {
		// The report's old name is a .yaml file that kubectl apply -R
		// and GitOps tools take for an object: it moves.
		sc.changes[canonical.LegacyCoveragePath] = Change{Op: Deleted, Path: canonical.LegacyCoveragePath}
	}
	res.Coverage = cov
	for _, ch := range sc.changes {
		res.Changes = append(res.Changes, ch)
	}
	sort.Slice(res.Changes, func(i, j int) bool { return res.Changes[i].Path < res.Changes[j].Path })
	if len(res.Changes) == 0 && !opts.CommitUnchanged {
		return res, nil
	}
	if opts.Progress != nil && len(res.Changes) > 0 {
		opts.Progress(Progress{Types: sc.types, TypesDone: sc.types, Objects: res.Objects, Committing: len(res.Changes)})
	}
	message := opts.Message
	if message == nil {
		message = Message
	}
	msg := message(res.Changes, Trailers{
		Cluster:         opts.Cluster,
		ServerVersion:   res.ServerVersion,
		ResourceVersion: res.ResourceVersion,
		Objects:         res.Objects,
		FreshTypes:      res.FreshTypes,
	})
	res.Commit, err = st.Commit(ctx, res.Changes, msg)
	if err != nil {
		return Result{}, err
	}
	return res, nil
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
	todo, skipped, facts := plan(disc, opts.Filter, opts.Secrets)
	facts.Rules = opts.Rules
	cov.Skipped = skipped
	stored, err := storedFiles(ctx, rd, opts.Secrets, opts.Secrets.sensitiveDirs())
	if err != nil {
		return scanned{}, err
	}

	c := &collector{stored: stored, st: rd, seen: map[string]bool{}, changes: map[string]Change{}, secrets: opts.Secrets, keepPlain: opts.keepPlain, keepManaged: opts.keepManaged}
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
		if opts.Filter.Selector != nil {
			// With a selector, only objects that were in scope when
			// stored leave the repository.
			data, err := rd.Read(ctx, path)
			if err != nil {
				return scanned{}, err
			}
			obj, err := canonical.Parse(data)
			if err != nil || !opts.Filter.Labels(obj.GetLabels()) {
				continue
			}
		}
		c.changes[path] = Change{Op: Deleted, Path: path, ID: id}
	}

	cov.sort()
	res.Coverage = cov
	sort.Strings(res.FreshTypes)
	return scanned{res: res, stored: stored, changes: c.changes, types: len(todo)}, nil
}

// collector gathers the changes of all types being listed at once.
type collector struct {
	stored    map[string]string
	st        Reader
	secrets   Secrets // its Sealer is nil in a diff: sealed objects show redacted
	keepPlain bool
	// keepManaged keeps modified objects' managedFields (Drift).
	keepManaged bool

	mu      gosync.Mutex
	seen    map[string]bool
	changes map[string]Change
}

func (c *collector) list(ctx context.Context, src Source, t canonical.Type, rv string, facts canonical.Facts, f canonical.Filter) listed {
	out := listed{t: t, complete: true}
	namespaces := []string{""}
	if t.Namespaced && len(f.IncludeNamespaces) > 0 {
		namespaces = f.IncludeNamespaces
	}
	var selector string
	if f.Selector != nil {
		selector = f.Selector.String()
	}
	counted := map[string]bool{}
	for _, ns := range namespaces {
		fresh, err := src.List(ctx, t, ListOptions{Namespace: ns, LabelSelector: selector, ResourceVersion: rv}, func(obj *unstructured.Unstructured) error {
			path, ch, ok, err := c.object(t, obj, facts, f)
			if err != nil || !ok {
				return err
			}
			c.mu.Lock()
			c.seen[path] = true
			if ch != nil {
				c.changes[path] = *ch
			} else {
				delete(c.changes, path) // a restarted list saw it again, unchanged
			}
			c.mu.Unlock()
			if !counted[path] {
				counted[path] = true
				out.objects++
			}
			return nil
		})
		out.fresh = out.fresh || fresh
		switch {
		case ctx.Err() != nil:
			out.err = ctx.Err()
			return out
		case errors.Is(err, ErrForbidden):
			out.skip = "forbidden: " + err.Error()
			out.complete = false
			return out
		case err != nil:
			out.skip = "list failed: " + err.Error()
			out.complete = false
			return out
		}
	}
	return out
}

// object turns one live object into the change it makes, if any. ok is
// false for objects out of scope or skipped by default.
func (c *collector) object(t canonical.Type, obj *unstructured.Unstructured, facts canonical.Facts, f canonical.Filter) (path string, ch *Change, ok bool, err error) {
	r, ok, err := render(t, obj, facts, f, c.secrets)
	if err != nil || !ok {
		return "", nil, false, err
	}
	old := c.stored[r.path]
	if old == c.st.BlobID(r.compared()) {
		return r.path, nil, true, nil
	}
	op := Modified
	if old == "" {
		op = Added
	}
	data, err := r.file(c.secrets.Sealer)
	if err != nil {
		return "", nil, false, err
	}
	if s, ok := c.st.(Stager); ok {
		s.Stage(r.path, data)
	}
	ch = &Change{Op: op, Path: r.path, Data: data, ID: r.id, Manager: r.manager}
	if c.keepPlain && r.seal != "" {
		ch.plain = r.data
	}
	if c.keepManaged && op == Modified {
		ch.managed = r.managed
	}
	return r.path, ch, true, nil
}

// plan picks the types to capture from what the server serves: the
// default skip rules (unless the filter names a skipped type), then the
// filter. It returns the rest with the reason each was left out, and the
// facts Normalize needs.
func plan(disc Discovery, f canonical.Filter, s Secrets) (todo []canonical.Type, skipped []SkippedType, facts canonical.Facts) {
	for _, t := range disc.Types {
		if s.mode() == SecretsSkip && s.sensitive(t) {
			skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: notStoredReason})
			continue
		}
		if reason, skip := canonical.SkipType(t); skip {
			if _, ok := canonical.Capturable(t); !ok || !f.Names(t) {
				skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: reason})
				continue
			}
		}
		if !f.Type(t) {
			skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: "excluded by filter"})
			continue
		}
		if t.Group == "" && t.Resource == "persistentvolumes" {
			facts.PersistentVolumesCaptured = true
		}
		todo = append(todo, t)
	}
	return todo, skipped, facts
}

// notStoredReason is the coverage's reason for sensitive types in the
// skip mode.
const notStoredReason = "not stored: secrets mode skip"

// rendered is one live object as the repository holds it.
type rendered struct {
	id      canonical.ID
	path    string
	data    []byte
	manager string
	// cmp, when set, is what the repository's file is compared in (the
	// redacted form of an object whose data must be sealed with the
	// encrypted_regex seal).
	cmp  []byte
	seal string
	// managed is the live object's metadata.managedFields, as read before
	// Normalize dropped it.
	managed any
}

// compared returns the bytes r is compared with the repository in.
func (r rendered) compared() []byte {
	if r.cmp != nil {
		return r.cmp
	}
	return r.data
}

// render normalizes and marshals obj of type t. ok is false for objects
// out of scope of f or skipped by default. s says what becomes of its
// sensitive values; in the encrypt mode an object that has some is made
// ready to seal (see sealable).
func render(t canonical.Type, obj *unstructured.Unstructured, facts canonical.Facts, f canonical.Filter, s Secrets) (r rendered, ok bool, err error) {
	if _, skip := canonical.SkipObject(obj); skip {
		return r, false, nil
	}
	r.id = t.ID(obj.GetNamespace(), obj.GetName())
	if !f.ID(r.id) || !f.Labels(obj.GetLabels()) {
		return r, false, nil
	}
	r.path = canonical.PathOf(r.id)
	facts.Protection = s.protection(t)
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		r.managed = meta["managedFields"]
	}
	r.manager = canonical.Normalize(obj, facts).Manager
	r.data, err = canonical.Marshal(obj)
	if err != nil {
		return r, false, fmt.Errorf("marshal %s: %w", r.path, err)
	}
	if s.mode() == SecretsEncrypt {
		if err := r.sealable(obj, facts.Protection); err != nil {
			return r, false, err
		}
	}
	return r, true, nil
}
