package sync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DryRunner asks the server what it would store.
type DryRunner interface {
	// DryRunApply returns the object the server would store if obj, of
	// type t, were server-side applied; nothing is changed.
	DryRunApply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// ErrDryRunRefused is wrapped by DryRunApply when the server refuses the
// object (a webhook, validation, RBAC): the file is then compared as it
// is. Any other error (the server unreachable or failing) stops Drift.
var ErrDryRunRefused = errors.New("dry-run refused")

// DriftOptions configure Drift.
type DriftOptions struct {
	Filter  canonical.Filter
	Workers int // types listed at once; 0 means 4
	// DryRun, when set, is asked what the server would store for files
	// that are not in canonical form (edited by hand). When nil, or
	// when the server refuses, the file is compared as it is.
	DryRun DryRunner
	// DryRunWorkers bounds the dry-runs in flight; 0 means 8.
	DryRunWorkers int
	Progress      func(Progress)
	// Unseal, when set, decrypts encrypted Secrets that differ, so the
	// report names the keys whose values changed (values stay hidden).
	Unseal Unseal
	// Secrets says how sensitive values were stored (the mode, the digest
	// key). Its Sealer is never used: encrypted files are compared in
	// their redacted form, which the digest keeps exact.
	Secrets Secrets
	// Rules are the user's normalization rules, applied to both sides.
	Rules canonical.Rules
}

// Drifted is one object that differs between a revision and the cluster.
type Drifted struct {
	ID   canonical.ID
	Path string
	// From is the revision's object in canonical form (for a file
	// edited by hand: what the server would store, if it said), nil when
	// the revision does not hold it. To is the cluster's, nil when the
	// cluster does not hold it. (CompareRevisions: the two revisions'
	// files as they are.)
	From, To []byte
	Note     string
}

// DriftResult is what Drift found.
type DriftResult struct {
	// Compared counts the objects in scope, live or stored.
	Compared int
	// Objects are the ones that differ, sorted by path.
	Objects         []Drifted
	ResourceVersion string
	ServerVersion   string
}

// BadFilesError lists the revision's files that are not objects kubesnap
// can compare, one line each.
type BadFilesError struct{ Lines []string }

func (e *BadFilesError) Error() string {
	what := "files in the revision are not valid objects"
	if len(e.Lines) == 1 {
		what = "file in the revision is not a valid object"
	}
	return fmt.Sprintf("%d %s:\n%s", len(e.Lines), what, strings.Join(e.Lines, "\n"))
}

// Drift compares the objects of revision rd with the live cluster, through
// the same canonical form on both sides, for every captured type in scope
// of the filter. Objects whose bytes match are in sync without being read
// from the revision. A stored file that is not canonical (edited by hand:
// other formatting, "1000m" for "1", defaults left out) is compared as the
// server would store it, when DryRun can say; otherwise, or when the server
// refuses the dry-run (a webhook with side effects), as it is, with a note.
//
// Types that could not be listed (forbidden, failed) make an error: a diff
// that silently left them out would report no drift where it cannot know.
func Drift(ctx context.Context, src Source, rd Reader, opts DriftOptions) (DriftResult, error) {
	// Files kubesnap would not have named so are refused before the
	// cluster is read, as restore refuses them: left out, they would
	// read as objects missing from the revision, or as no drift.
	if err := checkPaths(ctx, rd); err != nil {
		return DriftResult{}, err
	}
	secrets := opts.Secrets
	secrets.Sealer = nil
	keepPlain := false
	switch {
	case opts.Unseal != nil && secrets.mode() != SecretsPlain && secrets.mode() != SecretsSkip:
		// Compared in the redacted form, plain bytes kept for the
		// decrypted side of what differs.
		secrets.Mode, keepPlain = SecretsEncrypt, true
	case secrets.mode() == SecretsEncrypt:
		secrets.Mode = SecretsRedact // compare in the redacted form
	}
	sc, err := scan(ctx, src, rd, Options{Filter: opts.Filter, Workers: opts.Workers, Progress: opts.Progress, Secrets: secrets, Rules: opts.Rules, keepPlain: keepPlain, keepManaged: len(opts.Rules) > 0})
	if err != nil {
		return DriftResult{}, err
	}
	var unlisted []string
	for _, s := range sc.res.Coverage.Skipped {
		if strings.HasPrefix(s.Reason, "forbidden") || strings.HasPrefix(s.Reason, "list failed") {
			unlisted = append(unlisted, s.Resource+" ("+s.Reason+")")
		}
	}
	// Stored objects of a group whose discovery failed (an unavailable
	// APIService) can be neither listed nor said to be gone.
	failed := map[string]string{}
	for _, g := range sc.res.Coverage.FailedGroups {
		group, _, _ := strings.Cut(g.GroupVersion, "/")
		failed[group] = g.GroupVersion + " (" + g.Error + ")"
	}
	seen := map[string]bool{}
	for _, t := range sc.res.Captured {
		seen[t.ResourceDir()] = true // listed: compared in full
	}
	for p := range sc.stored {
		id, err := canonical.ParsePath(p)
		if err != nil || failed[id.Group] == "" || seen[id.ResourceDir()] || !opts.Filter.ID(id) {
			continue
		}
		seen[id.ResourceDir()] = true
		unlisted = append(unlisted, id.ResourceDir()+": discovery of "+failed[id.Group]+" failed")
	}
	sort.Strings(unlisted)
	if len(unlisted) > 0 {
		return DriftResult{}, fmt.Errorf("cannot compare %s: grant list on them, bring their API back, or leave them out with --exclude-resources", JoinFirst(unlisted, 3))
	}
	types := map[string]canonical.Type{}
	for _, t := range sc.res.Captured {
		types[t.ResourceDir()] = t
	}
	res := DriftResult{ResourceVersion: sc.res.ResourceVersion, ServerVersion: sc.res.ServerVersion, Compared: sc.res.Objects}

	paths := make([]string, 0, len(sc.changes))
	for p := range sc.changes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var bad []string
	var edited []*handEdited
	for _, p := range paths {
		ch := sc.changes[p]
		d := Drifted{ID: ch.ID, Path: p}
		if ch.Op == Added {
			d.To = ch.Data
			res.Objects = append(res.Objects, d)
			continue
		}
		if ch.Op == Deleted {
			res.Compared++
		}
		data, err := rd.Read(ctx, p)
		if err != nil {
			return DriftResult{}, err
		}
		obj, canon, sealed, err := canonicalFile(ch.ID, data, sc.res.Facts, secrets, ch.managed)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v; fix or remove the file", p, err))
			continue
		}
		if ch.Op == Deleted {
			d.From = canon
			res.Objects = append(res.Objects, d)
			continue
		}
		switch {
		case bytes.Equal(canon, ch.Data):
			// Only the form differed (key order, quoting): in sync.
		case sealed && ch.plain != nil && ch.ID.Group == "" && ch.ID.Resource == "secrets":
			from, err := unsealedFile(data, opts.Unseal, sc.res.Facts, secrets, types[ch.ID.ResourceDir()])
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", p, err))
				continue
			}
			d.From, d.To = from, ch.plain
			res.Objects = append(res.Objects, d)
		case bytes.Equal(canon, data) || sealed || opts.DryRun == nil:
			d.From, d.To = canon, ch.Data
			res.Objects = append(res.Objects, d)
		default:
			edited = append(edited, &handEdited{d: d, obj: obj, canon: canon, live: ch.Data, t: types[ch.ID.ResourceDir()]})
		}
	}
	if len(bad) > 0 {
		return DriftResult{}, &BadFilesError{Lines: bad}
	}
	if err := dryRun(ctx, opts, edited, sc.res.Facts, secrets); err != nil {
		return DriftResult{}, err
	}
	for _, e := range edited {
		if e.d.From != nil {
			res.Objects = append(res.Objects, e.d)
		}
	}
	sort.Slice(res.Objects, func(i, j int) bool { return res.Objects[i].Path < res.Objects[j].Path })
	return res, nil
}

// handEdited is a stored file not in canonical form whose object differs
// from the live one: a dry-run says whether it would.
type handEdited struct {
	d           Drifted // From stays nil when the dry-run shows no drift
	obj         *unstructured.Unstructured
	canon, live []byte
	t           canonical.Type
}

// dryRun asks the server what it would store for each hand-edited file, a
// few at a time, and fills in what differs.
func dryRun(ctx context.Context, opts DriftOptions, edited []*handEdited, facts canonical.Facts, secrets Secrets) error {
	workers := opts.DryRunWorkers
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var first error
	for _, e := range edited {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := e.compare(ctx, opts.DryRun, facts, secrets); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return first
}

func (e *handEdited) compare(ctx context.Context, dr DryRunner, facts canonical.Facts, secrets Secrets) error {
	out, err := dr.DryRunApply(ctx, e.t, e.obj)
	if err != nil && !errors.Is(err, ErrDryRunRefused) {
		return fmt.Errorf("dry-run of %s: %w", e.d.Path, err)
	}
	if err != nil {
		e.d.From, e.d.To = e.canon, e.live
		e.d.Note = fmt.Sprintf("server-side dry-run refused (%v); compared the file as it is", err)
		return nil
	}
	facts.Protection = secrets.protection(e.t)
	canonical.Normalize(out, facts)
	would, err := canonical.Marshal(out)
	if err != nil {
		e.d.From, e.d.To = e.canon, e.live
		e.d.Note = fmt.Sprintf("the dry-run's object cannot be marshalled (%v); compared the file as it is", err)
		return nil
	}
	if !bytes.Equal(would, e.live) {
		e.d.From, e.d.To = would, e.live
		e.d.Note = "edited by hand: compared as the server would store it (server-side dry-run)"
	}
	return nil
}

// unsealedFile decrypts a stored file and returns it in canonical form,
// values kept, as a live object is rendered in the encrypt mode.
func unsealedFile(data []byte, unseal Unseal, facts canonical.Facts, secrets Secrets, t canonical.Type) ([]byte, error) {
	plain, err := unseal(data)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt: %v; give the right key with --age-identity or SOPS_AGE_KEY_FILE", err)
	}
	obj, err := canonical.Parse(plain)
	if err != nil {
		return nil, errors.New("decrypted, but not a valid object (details hidden: they may quote its values)")
	}
	facts.Protection = secrets.protection(t)
	canonical.Normalize(obj, facts)
	return canonical.Marshal(obj)
}

// canonicalFile reads a stored file as canonical.ReadObject does (one
// object, the one its path names) and returns the object (normalized with
// facts, ready to dry-run) and its canonical bytes. A file encrypted in
// the sops format is read in its redacted form (sealed is true): the form
// the live object is compared in. managed, when set, is the live object's
// managedFields: the rules' manager rules remove from the file what those
// managers own live.
func canonicalFile(id canonical.ID, data []byte, facts canonical.Facts, secrets Secrets, managed any) (obj *unstructured.Unstructured, canon []byte, sealed bool, err error) {
	obj, sealed, err = canonical.ReadObject(id, data)
	if err != nil && secrets.sensitiveDirs()[id.ResourceDir()] {
		// The parser's message may quote the document, values and all.
		return nil, nil, false, errors.New("not a valid object (details hidden: they may quote its sensitive values)")
	}
	if err != nil {
		return nil, nil, false, err
	}
	t := canonical.Type{Group: id.Group, Resource: id.Resource, Kind: obj.GetKind()}
	facts.Protection = secrets.protection(t)
	if ann := obj.GetAnnotations(); len(secrets.Key) == 0 && ann[canonical.DigestAnnotation] != "" {
		// Without the key the live side has no digest: compare keys only.
		// (Decided without trusting the file's kubesnap.io/redacted.)
		delete(ann, canonical.DigestAnnotation)
		obj.SetAnnotations(ann)
	}
	if meta, ok := obj.Object["metadata"].(map[string]any); ok && managed != nil && len(facts.Rules) > 0 {
		meta["managedFields"] = managed
	}
	canonical.Normalize(obj, facts)
	canon, err = canonical.Marshal(obj)
	if err != nil {
		return nil, nil, false, err
	}
	return obj, canon, sealed, nil
}

// JoinFirst joins the first n items and says how many more there are:
// "a, b, c and 4 more".
func JoinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// Unseal decrypts a file in the sops format, returning the plain file.
type Unseal func(data []byte) ([]byte, error)

// CompareRevisions compares the files of two revisions object by object,
// for the objects in scope of f; no cluster is needed. With a selector, an
// object is in scope when its labels match on either side. Encrypted files
// (sops format) are decrypted with unseal when it is given, and compared in
// their redacted form otherwise: a Secret encrypted again for other
// recipients is no change, and a changed value shows in the digest.
func CompareRevisions(ctx context.Context, a, b Reader, f canonical.Filter, unseal Unseal) (compared int, out []Drifted, err error) {
	fa, err := a.Files(ctx)
	if err != nil {
		return 0, nil, err
	}
	fb, err := b.Files(ctx)
	if err != nil {
		return 0, nil, err
	}
	paths := map[string]bool{}
	var all []string
	for _, files := range []map[string]string{fa, fb} {
		for p := range files {
			if !paths[p] {
				paths[p] = true
				all = append(all, p)
			}
		}
	}
	sort.Strings(all)
	ids, bad := canonical.ObjectFiles(all)
	for _, p := range all {
		id, ok := ids[p]
		if !ok || !f.ID(id) {
			continue // not an object file, or out of scope
		}
		same := fa[p] == fb[p]
		if same && f.Selector == nil {
			compared++
			continue
		}
		d := Drifted{ID: id, Path: p}
		if fa[p] != "" {
			if d.From, err = a.Read(ctx, p); err != nil {
				return 0, nil, err
			}
		}
		if fb[p] != "" {
			if d.To, err = b.Read(ctx, p); err != nil {
				return 0, nil, err
			}
		}
		if line := checkFiles(id, p, d.From, d.To); line != "" {
			bad = append(bad, line)
			continue
		}
		if f.Selector != nil && !labelsMatch(f, d.From) && !labelsMatch(f, d.To) {
			continue
		}
		compared++
		if same {
			continue
		}
		var sealedFrom, sealedTo bool
		if d.From, sealedFrom, err = openSealed(p, d.From, unseal); err != nil {
			return 0, nil, err
		}
		if d.To, sealedTo, err = openSealed(p, d.To, unseal); err != nil {
			return 0, nil, err
		}
		if bytes.Equal(d.From, d.To) {
			continue // encrypted again, same content
		}
		if (sealedFrom || sealedTo) && unseal == nil {
			d.Note = "encrypted in git: compared without its values (a changed value shows in kubesnap.io/digest); give --age-identity to compare them"
		}
		out = append(out, d)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return 0, nil, &BadFilesError{Lines: bad}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return compared, out, nil
}

// checkPaths refuses a revision holding files under cluster/ or
// namespaces/ whose names are not ones kubesnap writes.
func checkPaths(ctx context.Context, rd Reader) error {
	files, err := rd.Files(ctx)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if _, bad := canonical.ObjectFiles(paths); len(bad) > 0 {
		return &BadFilesError{Lines: bad}
	}
	return nil
}

// checkFiles says why either side's file of object id at p is refused, as
// canonical.ReadObject says it; "" when both are read (or absent).
func checkFiles(id canonical.ID, p string, sides ...[]byte) string {
	for _, data := range sides {
		if data == nil {
			continue
		}
		if _, _, err := canonical.ReadObject(id, data); err != nil {
			if id.Group == "" && id.Resource == "secrets" {
				// The parser's message may quote the document, values and all.
				err = errors.New("not a valid Secret object (details hidden: they may quote its values)")
			}
			return fmt.Sprintf("%s: %v; fix or remove the file", p, err)
		}
	}
	return ""
}

// openSealed returns data decrypted with unseal, or in its redacted form
// without it, when data is a file in the sops format; other files as they
// are. sealed says whether it was.
func openSealed(path string, data []byte, unseal Unseal) (out []byte, sealed bool, err error) {
	if data == nil {
		return nil, false, nil
	}
	red, _, ok := canonical.Sealed(data)
	switch {
	case !ok:
		return data, false, nil
	case unseal != nil:
		plain, err := unseal(data)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", path, err)
		}
		return plain, true, nil
	}
	out, err = canonical.Marshal(red)
	return out, true, err
}

// labelsMatch reports whether the object in data matches f's selector; a
// file that does not parse matches nothing.
func labelsMatch(f canonical.Filter, data []byte) bool {
	if data == nil {
		return false
	}
	obj, err := canonical.Parse(data)
	return err == nil && f.Labels(obj.GetLabels())
}
