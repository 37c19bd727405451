package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	// HoldRecheck is how often a held restore mark is read again.
	HoldRecheck time.Duration
	// Remote, when set, receives every commit.
	Remote Remote
	// Observer is told what the watcher does (metrics); nil for none.
	Observer Observer
	// Logger receives the watcher's logs; nil discards them.
	Logger *slog.Logger
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

// Schedule says when the next scheduled snapshot is due; a
// robfig/cron schedule is one (see ParseSchedule).
type Schedule interface {
	Next(time.Time) time.Time
}

// Observer is told what a watcher does. Calls may come from several
// goroutines.
type Observer interface {
	Ready()
	Committed(at time.Time, files int)
	CommitFailed(err error)
	Pushed(at time.Time)
	PushFailed(err error)
	// APIServerLost is told, while the API server does not answer, since
	// when and the latest error; APIServerBack when it answers again.
	APIServerLost(since time.Time, err error)
	APIServerBack()
	Pending(n int)
	Captured(objects map[string]int) // per resource dir
	WatchRestarted(resource string)
}

// SnapshotTagPrefix starts the name of every scheduled snapshot's tag.
const SnapshotTagPrefix = "snapshot/"

// snapshotTagLayout is the UTC time in a snapshot tag's name (git refs
// cannot hold ':').
const snapshotTagLayout = "20060102T150405Z"

// keptKey holds, in the small object an informer keeps, what the
// transform derived from the live object.
const keptKey = "kubesnap"

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

	// Shared with the informers' handlers.
	mu      gosync.Mutex
	stored  map[string]string // blob id per path, as committed (or being committed)
	live    map[string]string // resource dir of every live object in scope, by path
	counts  map[string]int    // live objects per resource dir
	pending map[string]pendingChange
	first   time.Time // when the oldest pending change arrived
	last    time.Time // when the newest did
	lastRV  string
	touched map[string]bool // paths changed while a snapshot runs; nil otherwise
	// switches counts the goroutines waiting for a type's informers
	// started at a new version (deleteUnseenOnceSynced).
	switches gosync.WaitGroup
	// covDirty says the coverage file must be written although no object
	// changed (a type came or went).
	covDirty bool
	kick     chan struct{}
	retype   chan struct{} // a CRD or APIService changed
	switched chan string   // a type's informers at a new version synced

	// Owned by Run's goroutine.
	facts         canonical.Facts
	types         map[string]canonical.Type
	informers     map[string]map[string]Informer // resource dir → namespace → informer
	cov           Coverage
	serverVersion string
	unpushed      bool
	holdUntil     time.Time
	retryAt       time.Time // commit retry after a failure
	failures      int
	pushAt        time.Time // push retry after a failure
	pushFailures  int       // failures that back off
	// pushFailingSince is when the pushes started failing (zero when the
	// last one went through); pushFailedRun counts them.
	pushFailingSince time.Time
	pushFailedRun    int

	probe  chan struct{} // ask the API server now (followAPI)
	probes gosync.WaitGroup
}

type pendingChange struct {
	Change
	blob string // blob id of Data; "" for Deleted
}

// NewWatcher returns a watcher of src writing to st.
func NewWatcher(src Informers, st Store, opts WatchOptions) *Watcher {
	w := &Watcher{src: src, st: st, opts: opts, log: opts.Logger, obs: opts.Observer, now: time.Now,
		live: map[string]string{}, counts: map[string]int{}, pending: map[string]pendingChange{},
		kick: make(chan struct{}, 1), retype: make(chan struct{}, 1), switched: make(chan string), probe: make(chan struct{}, 1),
		types: map[string]canonical.Type{}, informers: map[string]map[string]Informer{}}
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
	res, err := Snapshot(ctx, w.src, w.st, w.opts.Snapshot)
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
		if err := w.startType(ctx, t); err != nil {
			w.log.Warn("cannot watch type", "resource", t.ResourceDir(), "error", err)
		}
	}
	if w.opts.Remote != nil {
		w.push(ctx)
	}
	if !w.waitSynced(ctx) {
		return w.shutdown(ctx)
	}
	w.obs.Ready()
	w.log.Info("watching", "types", len(w.types))
	return w.loop(ctx)
}

// waitSynced waits until every informer delivered its initial list, then
// marks as deleted the stored objects no informer reported: they went
// away between the capture and the informers' lists.
func (w *Watcher) waitSynced(ctx context.Context) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := w.now().Add(2 * time.Minute)
	for {
		var waiting []string
		for dir, infs := range w.informers {
			if !synced(infs) {
				waiting = append(waiting, dir)
			}
		}
		if len(waiting) == 0 || w.now().After(deadline) {
			if len(waiting) > 0 {
				sort.Strings(waiting)
				w.log.Warn("informers not synced after 2m; their deletions wait for the next snapshot", "resources", waiting)
			}
			listed := map[string]bool{}
			for dir := range w.informers {
				listed[dir] = true
			}
			for _, dir := range waiting {
				delete(listed, dir)
			}
			w.deleteUnseen(ctx, listed)
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// deleteUnseen marks as deleted every stored object of the given resource
// dirs that is not live. With a label selector, only objects that were in
// scope when stored leave (as Snapshot does).
func (w *Watcher) deleteUnseen(ctx context.Context, dirs map[string]bool) {
	w.mu.Lock()
	var gone []string
	for p := range w.stored {
		id, err := canonical.ParsePath(p)
		if err != nil || !dirs[id.ResourceDir()] || !w.opts.Snapshot.Filter.ID(id) {
			continue
		}
		if _, ok := w.live[p]; !ok {
			gone = append(gone, p)
		}
	}
	w.mu.Unlock()
	for _, p := range gone {
		if w.opts.Snapshot.Filter.Selector != nil {
			data, err := w.st.Read(ctx, p)
			if err != nil {
				continue
			}
			obj, err := canonical.Parse(data)
			if err != nil || !w.opts.Snapshot.Filter.Labels(obj.GetLabels()) {
				continue
			}
		}
		id, _ := canonical.ParsePath(p) // parsed above
		w.mu.Lock()
		if _, ok := w.live[p]; !ok {
			w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
		}
		w.mu.Unlock()
	}
}

// startType starts the informers of one type: one for all namespaces, or
// one per included namespace.
func (w *Watcher) startType(ctx context.Context, t canonical.Type) error {
	dir := t.ResourceDir()
	namespaces := []string{""}
	f := w.opts.Snapshot.Filter
	if t.Namespaced && len(f.IncludeNamespaces) > 0 {
		namespaces = f.IncludeNamespaces
	}
	var selector string
	if f.Selector != nil {
		selector = f.Selector.String()
	}
	infs := map[string]Informer{}
	for _, ns := range namespaces {
		inf, err := w.src.Inform(ctx, t, InformOptions{
			Namespace:     ns,
			LabelSelector: selector,
			Transform:     w.transform(t),
			OnError: func(err error) {
				w.obs.WatchRestarted(dir)
				w.log.Warn("watch restarting", "resource", dir, "error", err)
				w.askAPI()
			},
		}, &handler{w: w, dir: dir})
		if err != nil {
			for _, inf := range infs {
				inf.Stop()
			}
			return err
		}
		infs[ns] = inf
	}
	w.types[dir] = t
	w.informers[dir] = infs
	return nil
}

// forgetLive forgets which objects of a type are live.
func (w *Watcher) forgetLive(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, d := range w.live {
		if d == dir {
			delete(w.live, p)
		}
	}
	delete(w.counts, dir)
}

// synced says every informer of a type delivered its initial list.
func synced(infs map[string]Informer) bool {
	for _, inf := range infs {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// deleteUnseenOnceSynced waits until the informers of one type (started
// anew at another version) delivered their lists, then has the loop mark
// as deleted its stored objects they did not report (the loop: it reads
// the branch, which only its goroutine may).
func (w *Watcher) deleteUnseenOnceSynced(ctx context.Context, dir string, infs map[string]Informer) {
	defer w.switches.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := w.now().Add(2 * time.Minute)
	for {
		if synced(infs) {
			select {
			case w.switched <- dir:
			case <-ctx.Done():
			}
			return
		}
		if w.now().After(deadline) {
			w.log.Warn("informers not synced after 2m at the new version; deletions wait for the next snapshot", "resource", dir)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stopType stops a type's informers and forgets its live objects.
func (w *Watcher) stopType(dir string) {
	for _, inf := range w.informers[dir] {
		inf.Stop()
	}
	delete(w.informers, dir)
	delete(w.types, dir)
	w.forgetLive(dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	for p := range w.pending {
		if id, err := canonical.ParsePath(p); err == nil && id.ResourceDir() == dir && w.stored[p] == "" {
			delete(w.pending, p)
		}
	}
	w.obs.Pending(len(w.pending))
	for p := range w.stored {
		if id, err := canonical.ParsePath(p); err == nil && id.ResourceDir() == dir {
			w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
		}
	}
}

// transform turns a live object of type t into the small object its
// informer keeps: name, namespace, resourceVersion, and the file it makes
// (or that it is out of scope). It reads the managers before Normalize
// drops managedFields.
func (w *Watcher) transform(t canonical.Type) func(*unstructured.Unstructured) *unstructured.Unstructured {
	f := w.opts.Snapshot.Filter
	return func(obj *unstructured.Unstructured) *unstructured.Unstructured {
		// Objects from the API server always have a uid; what this
		// transform returns never does. A custom resource with a field
		// called kubesnap is still transformed.
		if _, done := obj.Object[keptKey]; done && obj.GetUID() == "" {
			return obj
		}
		name, ns, rv := obj.GetName(), obj.GetNamespace(), obj.GetResourceVersion()
		kept := map[string]any{"path": canonical.PathOf(t.ID(ns, name))}
		r, ok, err := render(t, obj, w.facts, f, w.opts.Snapshot.Secrets)
		var data []byte
		if err == nil && ok {
			data, err = r.file(w.opts.Snapshot.Secrets.Sealer)
		}
		switch {
		case err != nil:
			kept["error"] = err.Error()
		case !ok:
			kept["skip"] = true
		default:
			kept["data"] = string(data)
			if r.cmp != nil {
				kept["cmp"] = string(r.cmp)
			}
			if r.manager != "" {
				kept["manager"] = r.manager
			}
		}
		meta := map[string]any{"name": name, "resourceVersion": rv}
		if ns != "" {
			meta["namespace"] = ns
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": obj.GetAPIVersion(), "kind": obj.GetKind(), "metadata": meta, keptKey: kept,
		}}
	}
}

// handler feeds one type's informer events into the pending changes.
type handler struct {
	w   *Watcher
	dir string
}

func (h *handler) Upsert(obj *unstructured.Unstructured) { h.w.event(h.dir, obj, false) }
func (h *handler) Delete(obj *unstructured.Unstructured) { h.w.event(h.dir, obj, true) }

func (w *Watcher) event(dir string, obj *unstructured.Unstructured, deleted bool) {
	if dir == "customresourcedefinitions.apiextensions.k8s.io" || dir == "apiservices.apiregistration.k8s.io" {
		select {
		case w.retype <- struct{}{}:
		default:
		}
	}
	kept, _ := obj.Object[keptKey].(map[string]any)
	p, _ := kept["path"].(string)
	if p == "" {
		return // not transformed: cannot happen with our informers
	}
	if msg, _ := kept["error"].(string); msg != "" && !deleted {
		w.log.Error("cannot store object", "path", p, "error", msg)
		return
	}
	data, _ := kept["data"].(string)
	skip, _ := kept["skip"].(bool)
	var blob string
	if !deleted && !skip {
		blob = w.keptBlob(kept)
	}
	manager, _ := kept["manager"].(string)
	w.mu.Lock()
	defer w.mu.Unlock()
	if rv := obj.GetResourceVersion(); rv != "" {
		w.lastRV = rv
	}
	if w.touched != nil {
		w.touched[p] = true
	}
	if deleted || skip {
		if _, ok := w.live[p]; ok {
			delete(w.live, p)
			w.counts[dir]--
		}
		w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: mustID(p), Manager: manager}})
		return
	}
	if _, ok := w.live[p]; !ok {
		w.live[p] = dir
		w.counts[dir]++
	}
	w.setPending(p, pendingChange{Change: Change{Op: Modified, Path: p, Data: []byte(data), ID: mustID(p), Manager: manager}, blob: blob})
}

// keptBlob is the blob id a transformed object is compared with the
// branch in: that of its file, or of its redacted form when its file is
// encrypted (see storedFiles).
func (w *Watcher) keptBlob(kept map[string]any) string {
	if c, ok := kept["cmp"].(string); ok {
		return w.st.BlobID([]byte(c))
	}
	data, _ := kept["data"].(string)
	return w.st.BlobID([]byte(data))
}

// mustID parses a path made by PathOf, which always parses.
func mustID(p string) canonical.ID {
	id, _ := canonical.ParsePath(p)
	return id
}

// setPending records that path should become c, or drops a pending change
// that the stored file already equals. The caller holds mu.
func (w *Watcher) setPending(p string, c pendingChange) {
	stored := w.stored[p]
	if c.Op == Deleted && stored == "" || c.Op != Deleted && stored == c.blob {
		if _, ok := w.pending[p]; ok {
			delete(w.pending, p)
			w.obs.Pending(len(w.pending))
		}
		return
	}
	now := w.now()
	if len(w.pending) == 0 {
		w.first = now
	}
	w.last = now
	w.pending[p] = c
	w.obs.Pending(len(w.pending))
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// rederive sets path's pending change from what its informer holds now.
// The caller holds mu.
func (w *Watcher) rederive(p string) {
	id, err := canonical.ParsePath(p)
	if err != nil || !w.opts.Snapshot.Filter.ID(id) {
		return // not an object's file, or out of scope: left as it is
	}
	infs, ok := w.informers[id.ResourceDir()]
	if !ok {
		return // not a type being watched
	}
	inf := infs[""]
	if inf == nil {
		inf = infs[id.Namespace]
	}
	var obj *unstructured.Unstructured
	if inf != nil {
		obj, ok = inf.Get(id.Namespace, id.Name)
	}
	var kept map[string]any
	if ok && obj != nil {
		kept, _ = obj.Object[keptKey].(map[string]any)
	}
	if _, broken := kept["error"]; broken {
		return // event() logged it; leave the stored file alone
	}
	if data, has := kept["data"].(string); has {
		manager, _ := kept["manager"].(string)
		w.setPending(p, pendingChange{Change: Change{Op: Modified, Path: p, Data: []byte(data), ID: id, Manager: manager}, blob: w.keptBlob(kept)})
		return
	}
	w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
}

// loop commits, pushes, resyncs and rediscovers until ctx ends.
func (w *Watcher) loop(ctx context.Context) error {
	rediscover := time.NewTicker(w.opts.Rediscover)
	defer rediscover.Stop()
	var cronC <-chan time.Time
	var cronTimer *time.Timer
	armCron := func() {
		if w.opts.Schedule == nil {
			return
		}
		now := w.now()
		next := w.opts.Schedule.Next(now)
		if next.IsZero() {
			return
		}
		if cronTimer == nil {
			cronTimer = time.NewTimer(next.Sub(now))
		} else {
			cronTimer.Reset(next.Sub(now))
		}
		cronC = cronTimer.C
	}
	armCron()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	var retypeAt time.Time
	for {
		at := w.nextWake()
		if !retypeAt.IsZero() && (at.IsZero() || retypeAt.Before(at)) {
			at = retypeAt
		}
		if at.IsZero() {
			at = w.now().Add(time.Hour)
		}
		wake.Reset(max(at.Sub(w.now()), 0))
		select {
		case <-ctx.Done():
			return w.shutdown(ctx)
		case <-w.kick:
		case dir := <-w.switched:
			w.deleteUnseen(ctx, map[string]bool{dir: true})
		case <-w.retype:
			// A new CRD is served shortly after its event.
			retypeAt = w.now().Add(time.Second)
		case <-rediscover.C:
			w.rediscover(ctx)
		case <-cronC:
			w.scheduled(ctx)
			armCron()
		case <-wake.C:
		}
		now := w.now()
		if !retypeAt.IsZero() && !now.Before(retypeAt) {
			retypeAt = time.Time{}
			w.rediscover(ctx)
		}
		if due := w.commitDue(); !due.IsZero() && !now.Before(due) {
			w.commit(ctx)
		}
		if w.unpushed && w.opts.Remote != nil && !now.Before(w.pushAt) {
			w.push(ctx)
		}
	}
}

// commitDue is when pending changes should be committed; zero when none
// are pending.
func (w *Watcher) commitDue() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 && !w.covDirty {
		return time.Time{}
	}
	due := w.last.Add(w.opts.Debounce)
	if w.opts.MaxDelay > 0 {
		due = minTime(due, w.first.Add(w.opts.MaxDelay))
	}
	return maxTime(due, w.holdUntil, w.retryAt)
}

// nextWake is the earliest time the loop has something to do.
func (w *Watcher) nextWake() time.Time {
	at := w.commitDue()
	if w.unpushed && w.opts.Remote != nil {
		if at.IsZero() || w.pushAt.Before(at) {
			at = maxTime(w.pushAt, w.now())
		}
	}
	return at
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// commit writes the pending changes as one commit, unless a restore
// holds the mark.
func (w *Watcher) commit(ctx context.Context) {
	if holder, held, err := w.src.RestoreHeld(ctx); err != nil {
		w.log.Warn("cannot read the restore mark; committing anyway", "error", err)
	} else if held {
		if w.holdUntil.IsZero() {
			w.log.Info("a restore is running: holding commits", "holder", holder)
		}
		w.holdUntil = w.now().Add(w.opts.HoldRecheck)
		return
	} else if !w.holdUntil.IsZero() {
		w.log.Info("the restore is over: committing its result")
		w.holdUntil = time.Time{}
	}

	w.mu.Lock()
	batch := w.pending
	w.pending = map[string]pendingChange{}
	prev := map[string]string{}
	var changes []Change
	for p, c := range batch {
		prev[p] = w.stored[p]
		switch {
		case c.Op == Deleted:
			delete(w.stored, p)
		case w.stored[p] == "":
			c.Op = Added
			w.stored[p] = c.blob
		default:
			c.Op = Modified
			w.stored[p] = c.blob
		}
		changes = append(changes, c.Change)
	}
	objects := len(w.live)
	counts := make(map[string]int, len(w.counts))
	for dir, n := range w.counts {
		counts[dir] = n
	}
	rv := w.lastRV
	covDirty := w.covDirty
	w.covDirty = false
	w.obs.Pending(0)
	w.mu.Unlock()
	if len(changes) == 0 && !covDirty {
		return
	}

	covOld, covChanged := "", false
	if cov, old, ok := w.coverageChange(counts); ok {
		changes = append(changes, cov)
		covOld, covChanged = old, true
	}
	if len(changes) == 0 {
		return
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	msg := Message(changes, Trailers{Cluster: w.opts.Snapshot.Cluster, ServerVersion: w.serverVersion, ResourceVersion: rv, Objects: objects})
	id, err := w.st.Commit(ctx, changes, msg)
	if err != nil {
		w.mu.Lock()
		w.covDirty = w.covDirty || covDirty
		if covChanged {
			w.covDirty = true
			w.stored[CoveragePath] = covOld
		}
		for p, c := range batch {
			if prev[p] == "" {
				delete(w.stored, p)
			} else {
				w.stored[p] = prev[p]
			}
			if newer, ok := w.pending[p]; ok {
				c = newer
			}
			w.setPending(p, c)
		}
		w.mu.Unlock()
		w.retryAt = w.backoff(&w.failures, "commit", err)
		w.obs.CommitFailed(err)
		return
	}
	w.failures = 0
	w.obs.Committed(w.now(), len(changes))
	w.obs.Captured(counts)
	w.log.Info("committed", "commit", id, "files", len(changes))
	w.unpushed = true
}

// backoff logs a failed commit or push, counts it in *failures, and
// returns when to try again: 1s, doubling, at most 5m.
func (w *Watcher) backoff(failures *int, what string, err error) time.Time {
	*failures++
	d := min(time.Second<<min(*failures-1, 9), 5*time.Minute)
	w.log.Error(what+" failed; retrying", "in", d, "error", err)
	return w.now().Add(d)
}

// coverageChange updates the coverage file's counts and returns the
// file's change and its blob id before; ok is false when it does not
// change.
func (w *Watcher) coverageChange(counts map[string]int) (_ Change, old string, ok bool) {
	for i, c := range w.cov.Captured {
		if _, watched := w.types[c.Resource]; watched {
			w.cov.Captured[i].Objects = counts[c.Resource]
		}
	}
	data, err := w.cov.marshal()
	if err != nil {
		w.log.Error("cannot write the coverage file", "error", err)
		return Change{}, "", false
	}
	blob := w.st.BlobID(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	old = w.stored[CoveragePath]
	if old == blob {
		return Change{}, "", false
	}
	w.stored[CoveragePath] = blob
	op := Modified
	if old == "" {
		op = Added
	}
	return Change{Op: op, Path: CoveragePath, Data: data}, old, true
}

// push sends the branch to the remote. When the remote had moved on and
// our commits were rebased, the files both sides changed are re-derived
// from the live cluster: the live cluster wins.
func (w *Watcher) push(ctx context.Context) {
	rebased, conflicts, err := w.opts.Remote.Push(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.pushAt = w.pushFailed(err)
		}
		w.obs.PushFailed(err)
		return
	}
	w.pushSucceeded()
	w.unpushed = false
	w.obs.Pushed(w.now())
	if rebased {
		if len(conflicts) > 0 {
			w.log.Info("the remote had changed files we changed too; taking them from the live cluster", "files", conflicts)
		}
		w.refreshStored(ctx, conflicts, true)
	}
}

// files reads the branch's files as storedFiles does.
func (w *Watcher) files(ctx context.Context) (map[string]string, error) {
	s := w.opts.Snapshot.Secrets
	return storedFiles(ctx, w.st, s, s.sensitiveDirs())
}

// refreshStored reads the branch's files again (after a rebase or a
// snapshot moved it) and re-derives from the live cluster the given paths
// and those pending. With foreign (after a rebase over another writer's
// commits) it re-derives every file that changed since the branch was
// last read too: files the other writer edited, added or removed under
// our path go back to what the cluster holds.
func (w *Watcher) refreshStored(ctx context.Context, paths []string, foreign bool) {
	files, err := w.files(ctx)
	if err != nil {
		w.log.Error("cannot read the branch", "error", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, blob := range files {
		if foreign && w.stored[p] != blob {
			paths = append(paths, p)
		}
	}
	for p := range w.stored {
		if _, ok := files[p]; foreign && !ok {
			paths = append(paths, p)
		}
	}
	w.stored = files
	for p := range w.pending {
		paths = append(paths, p)
	}
	for _, p := range paths {
		w.rederive(p)
	}
}

// scheduled runs a full snapshot, re-derives what changed meanwhile, tags
// the head and applies the retention.
func (w *Watcher) scheduled(ctx context.Context) {
	w.mu.Lock()
	w.touched = map[string]bool{}
	w.mu.Unlock()
	res, err := Snapshot(ctx, w.src, w.st, w.opts.Snapshot)
	w.mu.Lock()
	touched := w.touched
	w.touched = nil
	w.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("scheduled snapshot failed", "error", err)
			w.obs.CommitFailed(err)
		}
		return
	}
	if res.Commit != "" {
		w.obs.Committed(w.now(), len(res.Changes))
		w.unpushed = true
		w.log.Info("scheduled snapshot committed what the watch missed", "commit", res.Commit, "files", len(res.Changes))
	}
	w.cov, w.serverVersion = res.Coverage, res.ServerVersion
	for _, t := range res.Captured {
		if _, ok := w.types[t.ResourceDir()]; !ok {
			if err := w.startType(ctx, t); err != nil {
				w.log.Warn("cannot watch type", "resource", t.ResourceDir(), "error", err)
			}
		}
	}
	paths := make([]string, 0, len(touched))
	for p := range touched {
		paths = append(paths, p)
	}
	w.refreshStored(ctx, paths, false)
	w.tagSnapshot(ctx)
}

// tagSnapshot tags the head snapshot/<UTC time> and deletes the tags the
// retention no longer keeps, locally and on the remote.
func (w *Watcher) tagSnapshot(ctx context.Context) {
	tg, ok := w.st.(Tagger)
	if !ok {
		return
	}
	// Push first: a push may rebase our commits, and the tag must name
	// the commit the remote has.
	if w.opts.Remote != nil && w.unpushed {
		w.push(ctx)
		if w.unpushed {
			w.log.Error("snapshot not tagged: the push failed")
			return
		}
	}
	now := w.now().UTC()
	name := SnapshotTagPrefix + now.Format(snapshotTagLayout)
	if err := tg.Tag(name); err != nil {
		w.log.Error("cannot tag the snapshot", "tag", name, "error", err)
		return
	}
	w.log.Info("tagged snapshot", "tag", name)
	if w.opts.Remote != nil {
		if err := w.opts.Remote.PushTags(ctx, name); err != nil {
			w.log.Error("cannot push the snapshot tag", "tag", name, "error", err)
		}
	}
	names, err := tg.Tags(SnapshotTagPrefix)
	if err != nil {
		w.log.Error("cannot list snapshot tags", "error", err)
		return
	}
	old := ExpiredSnapshots(names, now, w.opts.KeepSnapshots, w.opts.SnapshotRetention)
	if len(old) == 0 {
		return
	}
	for _, n := range old {
		if err := tg.DeleteTag(n); err != nil {
			w.log.Error("cannot delete snapshot tag", "tag", n, "error", err)
		}
	}
	if w.opts.Remote != nil {
		if err := w.opts.Remote.DeleteTags(ctx, old...); err != nil {
			w.log.Error("cannot delete snapshot tags on the remote", "tags", old, "error", err)
		}
	}
	w.log.Info("deleted old snapshot tags", "tags", old)
}

// ExpiredSnapshots returns the snapshot tags that retention drops: all
// but the newest keep (when keep > 0) and those older than retention
// (when retention > 0). Names that are not snapshot tags are kept.
func ExpiredSnapshots(names []string, now time.Time, keep int, retention time.Duration) []string {
	type tag struct {
		name string
		at   time.Time
	}
	var tags []tag
	for _, n := range names {
		if len(n) <= len(SnapshotTagPrefix) || n[:len(SnapshotTagPrefix)] != SnapshotTagPrefix {
			continue
		}
		at, err := time.Parse(snapshotTagLayout, n[len(SnapshotTagPrefix):])
		if err != nil {
			continue
		}
		tags = append(tags, tag{n, at})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].at.After(tags[j].at) })
	var out []string
	for i, t := range tags {
		if keep > 0 && i >= keep || retention > 0 && now.Sub(t.at) > retention {
			out = append(out, t.name)
		}
	}
	sort.Strings(out)
	return out
}

// rediscover starts informers for newly served types and stops those of
// types no longer served, whose objects leave the repository.
func (w *Watcher) rediscover(ctx context.Context) {
	disc, err := w.src.Discover(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("discovery failed; keeping the types watched", "error", err)
		}
		return
	}
	todo, _, _ := plan(disc, w.opts.Snapshot.Filter, w.opts.Snapshot.Secrets)
	want := map[string]canonical.Type{}
	for _, t := range todo {
		want[t.ResourceDir()] = t
	}
	failed := map[string]bool{}
	for gv := range disc.FailedGroups {
		g, _, _ := strings.Cut(gv, "/")
		failed[g] = true
	}
	captured := map[string]int{} // index in the coverage
	for i, c := range w.cov.Captured {
		captured[c.Resource] = i
	}
	listFailed := map[string]bool{}
	for _, sk := range w.cov.Skipped {
		if strings.HasPrefix(sk.Reason, "forbidden") || strings.HasPrefix(sk.Reason, "list failed") {
			listFailed[sk.Resource] = true
		}
	}
	changed := false
	for dir, t := range want {
		switched := false
		if old, ok := w.types[dir]; ok {
			if old.Version == t.Version && old.Kind == t.Kind && old.Namespaced == t.Namespaced {
				continue
			}
			// A new preferred version: follow it instead, keeping the
			// objects (their files change with their apiVersion). The
			// new informers' lists say which are live: objects deleted
			// while no informer watched leave once they synced.
			w.log.Info("type served at a new version", "resource", dir, "version", t.Version)
			for _, inf := range w.informers[dir] {
				inf.Stop()
			}
			delete(w.informers, dir)
			delete(w.types, dir)
			w.forgetLive(dir)
			switched = true
		} else if listFailed[dir] {
			continue // the next scheduled snapshot tries its list again
		}
		if err := w.startType(ctx, t); err != nil {
			w.log.Warn("cannot watch type", "resource", dir, "error", err)
			continue
		}
		w.log.Info("watching type", "resource", dir, "version", t.Version)
		if switched {
			w.switches.Add(1)
			go w.deleteUnseenOnceSynced(ctx, dir, w.informers[dir])
		}
		if i, ok := captured[dir]; ok {
			w.cov.Captured[i].Version, w.cov.Captured[i].Kind = t.Version, t.Kind
		} else {
			w.cov.Captured = append(w.cov.Captured, CapturedType{Resource: dir, Version: t.Version, Kind: t.Kind})
			w.cov.Skipped = removeSkipped(w.cov.Skipped, dir)
		}
		changed = true
	}
	for dir, t := range w.types {
		if _, ok := want[dir]; ok || failed[t.Group] {
			continue
		}
		w.log.Info("type no longer served; its objects leave the repository", "resource", dir)
		w.stopType(dir)
		for i, c := range w.cov.Captured {
			if c.Resource == dir {
				w.cov.Captured = append(w.cov.Captured[:i], w.cov.Captured[i+1:]...)
				break
			}
		}
		changed = true
	}
	if changed {
		w.cov.sort()
		w.mu.Lock()
		w.covDirty = true
		w.last = w.now()
		w.mu.Unlock()
	}
}

func removeSkipped(s []SkippedType, dir string) []SkippedType {
	out := s[:0]
	for _, t := range s {
		if t.Resource != dir {
			out = append(out, t)
		}
	}
	return out
}

// ErrAbandon, as the cause of the context given to Run, makes the watcher
// stop without committing or pushing: it was told it no longer may (a
// leader that lost its Lease). A successor captures everything anew.
var ErrAbandon = errors.New("stop without committing: no longer the leader")

// shutdown commits what is pending (unless a restore holds the mark) and
// pushes, with a bounded time of its own since ctx has ended.
func (w *Watcher) shutdown(ctx context.Context) error {
	w.switches.Wait() // they end with ctx
	w.probes.Wait()   // so does followAPI
	if errors.Is(context.Cause(ctx), ErrAbandon) {
		w.stopInformers()
		w.log.Warn("stopped without committing", "reason", ErrAbandon)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	w.holdUntil, w.retryAt, w.pushAt = time.Time{}, time.Time{}, time.Time{}
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

func (w *Watcher) stopInformers() {
	for dir := range w.informers {
		for _, inf := range w.informers[dir] {
			inf.Stop()
		}
	}
}

type nopObserver struct{}

func (nopObserver) Ready()                         {}
func (nopObserver) Committed(time.Time, int)       {}
func (nopObserver) CommitFailed(error)             {}
func (nopObserver) Pushed(time.Time)               {}
func (nopObserver) PushFailed(error)               {}
func (nopObserver) Pending(int)                    {}
func (nopObserver) Captured(map[string]int)        {}
func (nopObserver) WatchRestarted(string)          {}
func (nopObserver) APIServerLost(time.Time, error) {}
func (nopObserver) APIServerBack()                 {}
