package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

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
	if unlisted := unlistedTypes(sc, opts.Filter); len(unlisted) > 0 {
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
		obj, canon, sealed, err := canonicalFile(sc.enc, ch.ID, data, sc.res.Facts, secrets, ch.managed)
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
			from, err := unsealedFile(sc.enc, data, opts.Unseal, sc.res.Facts, secrets, types[ch.ID.ResourceDir()])
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
	if err := dryRun(ctx, sc.enc, opts, edited, sc.res.Facts, secrets); err != nil {
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

// unlistedTypes says, one line each, which types in scope the scan could
// not compare: those it could not list, and those of stored objects whose
// group's discovery failed (an unavailable APIService), which can be
// neither listed nor said to be gone. Sorted.
func unlistedTypes(sc scanned, f canonical.Filter) []string {
	var unlisted []string
	for _, s := range sc.res.Coverage.Skipped {
		if s.unlisted() {
			unlisted = append(unlisted, s.Resource+" ("+s.Reason+")")
		}
	}
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
		if err != nil || failed[id.Group] == "" || seen[id.ResourceDir()] || !f.ID(id) {
			continue
		}
		seen[id.ResourceDir()] = true
		unlisted = append(unlisted, id.ResourceDir()+": discovery of "+failed[id.Group]+" failed")
	}
	sort.Strings(unlisted)
	return unlisted
}
