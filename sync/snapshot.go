package sync

import (
	"context"
	"slices"

	"github.com/kubesnap/kubesnap/canonical"
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
	// stage hands changed files to the store as they are found, when it
	// is a Stager (Snapshot; never Drift, which commits nothing).
	stage bool
	// prime, when set, keeps what the lists saw for the watcher's
	// informers to start from (its first snapshot).
	prime *primer
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
	Commit string // "" when nothing changed
	// Changes are what the commit holds; Data is nil for the files a
	// Stager store took as they were found.
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

// Snapshot reads every captured type at one resourceVersion and commits
// the difference to the store's branch head as one commit. It makes no
// commit when nothing changed (see Options.CommitUnchanged).
func Snapshot(ctx context.Context, src Source, st Store, opts Options) (res Result, err error) {
	if sg, ok := st.(Stager); ok {
		opts.stage = true
		defer func() {
			if err != nil || res.Commit == "" {
				sg.Unstage() // no Commit took what was staged
			}
		}()
	}
	sc, err := scan(ctx, src, st, opts)
	if err != nil {
		return Result{}, err
	}
	res = sc.res
	cov := res.Coverage
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
	res.Changes = sortedChanges(sc.changes)
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
	tr := Trailers{
		Cluster:         opts.Cluster,
		ServerVersion:   res.ServerVersion,
		ResourceVersion: res.ResourceVersion,
		Objects:         res.Objects,
		Path:            storePath(st),
		FreshTypes:      res.FreshTypes,
	}
	if !opts.CommitUnchanged {
		// A store that commits unchanged files has them from a base,
		// not from the branch head: its commit's count against its
		// parent is not len(changes), and log diffs the trees instead.
		tr.Changed = changedCount(res.Changes)
	}
	msg := message(res.Changes, tr)
	res.Commit, err = st.Commit(ctx, res.Changes, msg)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// sortedChanges returns the changes (keyed by their path) sorted by path.
// It sorts the paths, not the changes: a first snapshot's 100,000
// changes are large values, which a sort of them moves many times over.
func sortedChanges(changes map[string]Change) []Change {
	paths := make([]string, 0, len(changes))
	for p := range changes {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out := make([]Change, len(paths))
	for i, p := range paths {
		out[i] = changes[p]
	}
	return out
}
