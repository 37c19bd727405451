package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	gosync "sync"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/util/wait"
)

// WatchOptions configure a watcher. DefaultWatchOptions gives the
// defaults of the command line.
type WatchOptions struct {
	// Snapshot configures the first capture and the scheduled ones; its
	// filter also scopes the informers.
	Snapshot Options
	// Debounce is how long no change must arrive before pending changes
	// are committed; 0 commits at once.
	Debounce time.Duration
	// MaxDelay bounds how long a change waits while changes keep
	// arriving; 0 means no bound beyond Debounce.
	MaxDelay time.Duration
	// Schedule, when set, runs a full snapshot at its times and tags the
	// result snapshot/<UTC time>.
	Schedule Schedule
	// KeepSnapshots and SnapshotRetention, when set, delete older
	// snapshot tags: beyond the newest N, or older than the duration.
	KeepSnapshots     int
	SnapshotRetention time.Duration
	// Rediscover is how often the served types are read again; new CRDs
	// are also noticed from their own events.
	Rediscover time.Duration
	// HoldRecheck is how often a held restore lease is read again.
	HoldRecheck time.Duration
	// Remote, when set, receives every commit.
	Remote Remote
	// Observer is told what the watcher does (metrics); nil for none.
	Observer Observer
	// Logger receives the watcher's logs; nil discards them.
	Logger *slog.Logger
	// Audit, when set, names who made each change: a batch becomes one
	// commit per user, authored by them. A change no audit event matches
	// yet waits up to AuditWait from when it was seen for its event
	// (the API server sends them in batches); then it is committed
	// naming its field manager, as without Audit.
	Audit     Audit
	AuditWait time.Duration
}

// DefaultWatchOptions are the defaults of `kubesnap watch`.
func DefaultWatchOptions() WatchOptions {
	return WatchOptions{
		Debounce:    2 * time.Second,
		MaxDelay:    30 * time.Second,
		Rediscover:  30 * time.Second,
		HoldRecheck: 2 * time.Second,
	}
}

// Watcher keeps a store's branch equal to the live cluster: one capture,
// then informers whose changes it commits in batches. See the package
// documentation for the loop.
type Watcher struct {
	src  Informers
	st   Store
	opts WatchOptions
	log  *slog.Logger
	obs  Observer
	now  func() time.Time
	// enc renders every object the informers transform (safe for
	// concurrent use; its cache is bounded).
	enc canonical.Encoder

	// Shared with the informers' handlers.
	mu      gosync.Mutex
	stored  map[string]string // blob id per path, as committed (or being committed)
	live    map[string]string // resource dir of every live object in scope, by path
	counts  map[string]int    // live objects per resource dir
	pending pendingSet
	lastRV  string
	touched map[string]bool // paths changed while a snapshot runs; nil otherwise
	// newVersionWaits counts the goroutines waiting for the informers of
	// a type served at a new version (deleteUnseenOnceSynced).
	newVersionWaits gosync.WaitGroup
	// covDirty says the coverage file must be written although no object
	// changed (a type came or went).
	covDirty bool
	kick     chan struct{}
	retype   chan struct{} // a CRD or APIService changed
	// newVersionSynced names a type whose informers at a new version
	// synced.
	newVersionSynced chan string

	// Owned by Run's goroutine.
	facts         canonical.Facts
	types         map[string]canonical.Type
	informers     map[string]map[string]Informer // resource dir → namespace → informer
	cov           Coverage
	serverVersion string
	unpushed      bool
	holdUntil     time.Time    // commits wait for the restore lease until then
	retryAt       time.Time    // commit retry after a failure
	commitBackoff wait.Backoff // delays between failed commits
	pushAt        time.Time    // push retry after a failure
	pushBackoff   wait.Backoff // delays between failed pushes (lost races aside)
	// pushFailingSince is when the pushes started failing (zero when the
	// last one went through); pushFailedRun counts them.
	pushFailingSince time.Time
	pushFailedRun    int

	maint maintenance // of the store (watch_maintain.go)

	// auditUntil is how long the pending changes wait for their audit
	// events (watch_audit.go); final is set by shutdown: nothing waits.
	auditUntil time.Time
	final      bool

	probe  chan struct{} // ask the API server now (followAPI)
	probes gosync.WaitGroup
}

// NewWatcher returns a watcher of src writing to st.
func NewWatcher(src Informers, st Store, opts WatchOptions) *Watcher {
	w := &Watcher{src: src, st: st, opts: opts, log: opts.Logger, obs: opts.Observer, now: time.Now,
		live: map[string]string{}, counts: map[string]int{}, pending: newPendingSet(),
		kick: make(chan struct{}, 1), retype: make(chan struct{}, 1), newVersionSynced: make(chan string), probe: make(chan struct{}, 1),
		types: map[string]canonical.Type{}, informers: map[string]map[string]Informer{},
		commitBackoff: retryBackoff(), pushBackoff: retryBackoff()}
	if w.log == nil {
		w.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if w.obs == nil {
		w.obs = nopObserver{}
	}
	if w.opts.HoldRecheck <= 0 {
		w.opts.HoldRecheck = 2 * time.Second
	}
	if w.opts.Rediscover <= 0 {
		w.opts.Rediscover = 30 * time.Second
	}
	return w
}

// Run captures the cluster, then commits its changes until ctx ends. On
// the way out it commits what is pending and pushes, and returns nil: an
// ended context is how a watcher is told to stop. It returns an error only
// when the first capture fails.
func (w *Watcher) Run(ctx context.Context) error {
	first := w.opts.Snapshot
	first.prime = newPrimer()
	res, err := Snapshot(ctx, w.src, w.st, first)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("first capture: %w", err)
	}
	w.log.Info("captured the cluster", "objects", res.Objects, "types", len(res.Captured), "commit", res.Commit)
	if res.Commit != "" {
		w.obs.Committed(w.now(), len(res.Changes))
		w.unpushed = true
	}
	w.cov, w.serverVersion, w.lastRV = res.Coverage, res.ServerVersion, res.ResourceVersion
	stored, err := w.files(ctx)
	if err != nil {
		return fmt.Errorf("read the branch after the first capture: %w", err)
	}
	w.stored = stored
	w.facts = res.Facts
	w.probes.Add(1)
	go w.followAPI(ctx)
	for _, t := range res.Captured {
		if err := w.startType(ctx, t, first.prime); err != nil {
			w.log.Warn("cannot watch type", "resource", t.ResourceDir(), "error", err)
		}
	}
	if w.opts.Remote != nil {
		w.push(ctx)
	}
	if !w.waitSynced(ctx) {
		return w.shutdown(ctx)
	}
	// The objects per type are known now, before any change commits.
	w.mu.Lock()
	counts := maps.Clone(w.counts)
	w.mu.Unlock()
	w.obs.Captured(counts)
	w.obs.Ready()
	w.log.Info("watching", "types", len(w.types))
	return w.loop(ctx)
}

// ErrAbandon, as the cause of the context given to Run, makes the watcher
// stop without committing or pushing: it was told it no longer may (a
// leader that lost its Lease). A successor captures everything anew.
var ErrAbandon = errors.New("stop without committing: no longer the leader")

// shutdown commits what is pending (unless a restore holds the restore
// lease) and pushes, with a bounded time of its own since ctx has ended.
func (w *Watcher) shutdown(ctx context.Context) error {
	w.newVersionWaits.Wait() // they end with ctx
	w.probes.Wait()          // so does followAPI
	if errors.Is(context.Cause(ctx), ErrAbandon) {
		w.stopInformers()
		w.log.Warn("stopped without committing", "reason", ErrAbandon)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	w.holdUntil, w.retryAt, w.pushAt, w.auditUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.final = true
	if !w.commitDue().IsZero() {
		w.commit(ctx)
	}
	if w.unpushed && w.opts.Remote != nil {
		w.push(ctx)
	}
	w.stopInformers()
	w.log.Info("stopped")
	return nil
}
