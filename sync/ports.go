package sync

import (
	"context"
	"errors"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Source is the cluster as a snapshot reads it.
type Source interface {
	// Discover lists the resource types the server serves, one preferred
	// version per group. Groups whose discovery failed are returned in
	// Discovery.FailedGroups, not as an error.
	Discover(ctx context.Context) (Discovery, error)
	// ResourceVersion returns the cluster's current resourceVersion.
	ResourceVersion(ctx context.Context) (string, error)
	// List calls fn for every object of type t in scope of opts, paging
	// through the list. It may call fn again for an object it already
	// passed when it has to restart a list (fn must keep the last call).
	// fresh reports that the list could not be served at
	// opts.ResourceVersion and was read at the newest version instead.
	List(ctx context.Context, t canonical.Type, opts ListOptions, fn func(*unstructured.Unstructured) error) (fresh bool, err error)
}

// Discovery is what the server serves.
type Discovery struct {
	Types         []canonical.Type
	FailedGroups  map[string]string // group/version → error
	ServerVersion string
}

// ListOptions narrow one LIST.
type ListOptions struct {
	Namespace       string // "" for all
	LabelSelector   string
	ResourceVersion string // "" for the newest
	// Listed, when set, is told the resourceVersion a list is read at,
	// before the objects of its first page. A list that List restarts
	// tells it again: the objects passed before then are to be
	// forgotten by whoever keeps them apart (the watcher's primed
	// informers).
	Listed func(resourceVersion string)
}

// ErrForbidden is wrapped by Source.List when RBAC refuses the list: the
// type is reported as skipped, and nothing stored of it is deleted.
var ErrForbidden = errors.New("forbidden")

// Op is what a commit does to one file.
type Op byte

// Ops, as git prints them.
const (
	Added    Op = 'A'
	Modified Op = 'M'
	Deleted  Op = 'D'
)

// Change is one file to write or delete.
type Change struct {
	Op   Op
	Path string // relative to the store's prefix
	Data []byte // nil for Deleted
	// ID is the object the file holds; zero for files that hold none.
	ID      canonical.ID
	Manager string // who made the change, when known
	// plain is a sensitive object's live bytes with its values, kept
	// only for a diff that decrypts (Drift with Unseal).
	plain []byte
	// managed is the live object's managedFields, kept only for Drift
	// with rules: a revision written before a manager rule still holds
	// the fields that manager owns live.
	managed any
}

// Reader is the repository's files at one revision (for a Store, its
// branch head). Paths are relative to the store's prefix (--path).
type Reader interface {
	// Files returns the blob id of every file under the prefix; empty
	// for a branch that does not exist yet.
	Files(ctx context.Context) (map[string]string, error)
	// BlobID returns the id data would be stored under.
	BlobID(data []byte) string
	// Read returns the content of path.
	Read(ctx context.Context, path string) ([]byte, error)
}

// Store is the repository as a snapshot writes it: a Reader of its branch
// head that can commit.
type Store interface {
	Reader
	// Commit writes changes as one commit on the branch head and returns
	// its id. Its cost grows with len(changes), not with the repository.
	Commit(ctx context.Context, changes []Change, message string) (string, error)
}

// Stager is a Store that can start storing a changed file while the
// snapshot still lists the rest; Snapshot calls Stage for every file it
// will pass to Commit (path relative to the prefix, as in Change), from
// several goroutines at once, and passes those changes without Data:
// Commit takes the bytes staged last for the path, so the snapshot holds
// no copy of them. Nothing staged is visible in the branch before
// Commit. Unstage drops what was staged, when the snapshot fails or is
// cancelled before its Commit.
type Stager interface {
	Stage(path string, data []byte)
	Unstage()
}

// Prefixed is a Store whose files live under a folder of the
// repository (--path). Its commits name the folder in the Kubesnap-Path
// trailer.
type Prefixed interface {
	Prefix() string
}

// Informers is a Source that can also follow changes as they happen.
type Informers interface {
	Source
	// Inform starts following every object of type t in scope of opts:
	// h is called for the objects present (once the initial list is in)
	// and then for every change, with what opts.Transform kept of the
	// object. It returns at once; the informer runs until Stop or until
	// ctx ends.
	Inform(ctx context.Context, t canonical.Type, opts InformOptions, h InformHandler) (Informer, error)
	// RestoreHeld reports whether a restore holds the restore lease (the
	// Lease kube-system/kubesnap-restore, held and not expired), and by
	// whom.
	RestoreHeld(ctx context.Context) (holder string, held bool, err error)
}

// InformOptions narrow one informer and shape what it keeps.
type InformOptions struct {
	Namespace     string // "" for all
	LabelSelector string
	// Transform turns a live object into what the informer keeps of it
	// and passes on; it is required and never returns nil. It sees only
	// live objects, never what it returned (the informer keeps that
	// apart), so it need not be idempotent.
	Transform func(*unstructured.Unstructured) *Kept
	// OnError is told when the informer's list or watch failed and is
	// being restarted.
	OnError func(error)
	// Primed, when set, is the informer's initial list, already
	// transformed: the informer starts from it and only watches from
	// its ResourceVersion, instead of listing again. Later lists (after
	// a watch that cannot resume) are real ones.
	Primed *Primed
}

// Primed is what a snapshot's list kept of every object of one informer's
// scope (a type, in one namespace or all), as Transform would have kept
// it, and the resourceVersion the list was read at. It holds Kept only,
// never the objects or their files.
type Primed struct {
	ResourceVersion string
	Items           []*Kept
}

// Kept is what an informer keeps of one live object: its key, and the
// file it makes (or why it makes none). The informer keys its cache by
// Namespace and Name and tells changes apart by ResourceVersion; the rest
// is the watcher's.
//
// A Kept holds the blob id of its file, not the file: at 100,000 objects
// the files were most of the watcher's memory. The bytes travel in Data
// only from the transform to the watcher, and only when the file differs
// from the stored one; the watcher moves them into its pending changes
// and clears Data, so the informer's cache does not keep them.
type Kept struct {
	Namespace, Name, ResourceVersion string
	// Path is the object's file, relative to the store's prefix.
	Path string
	// Sum is the blob id the file is compared with the branch in: that of
	// its bytes, or of the redacted form of an object whose file is
	// encrypted. Empty when Skip or Err is set.
	Sum string
	// Data is the file's bytes, set only by a transform that found Sum
	// differing from the stored file's, until the watcher takes them.
	// Read and cleared only under the watcher's lock.
	Data []byte
	// Manager made the object's latest change, when known.
	Manager string
	// Skip says the object is out of scope or skipped by default.
	Skip bool
	// Err says why the object cannot be stored.
	Err string
}

// InformHandler receives an informer's objects, one call at a time per
// informer.
type InformHandler interface {
	Upsert(k *Kept)
	Delete(k *Kept)
}

// Informer is one running informer.
type Informer interface {
	// HasSynced reports that every object of the initial list reached
	// the handler.
	HasSynced() bool
	// Get returns what the informer keeps of namespace/name.
	Get(namespace, name string) (*Kept, bool)
	// Stop ends the informer; the handler gets no more calls after Stop
	// returns.
	Stop()
}

// Remote is where commits are pushed.
type Remote interface {
	// Push sends the branch to the remote, never forcing. When the remote
	// had moved on, our commits were rebased onto it first: rebased is
	// true and conflicts names the files (relative to the store's prefix)
	// both sides changed, which the caller re-derives from live state.
	Push(ctx context.Context) (rebased bool, conflicts []string, err error)
	// PushTags sends tags; DeleteTags removes them on the remote.
	PushTags(ctx context.Context, names ...string) error
	DeleteTags(ctx context.Context, names ...string) error
}

// ErrLostRace is wrapped by Remote.Push when other writers moved the
// remote branch on every time we fetched, rebased and pushed: nothing is
// wrong, and trying again soon is right.
var ErrLostRace = errors.New("lost the race to other writers")

// Tagger is a Store that can tag its branch head.
type Tagger interface {
	// Tag points a new tag at the branch head.
	Tag(name string) error
	// Tags lists the tags whose name starts with prefix.
	Tags(prefix string) ([]string, error)
	// DeleteTag removes a local tag.
	DeleteTag(name string) error
}
