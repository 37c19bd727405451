package sync

import (
	"context"
	"sort"
	"time"
)

// SnapshotTagPrefix starts the name of every scheduled snapshot's tag.
const SnapshotTagPrefix = "snapshot/"

// snapshotTagLayout is the UTC time in a snapshot tag's name (git refs
// cannot hold ':').
const snapshotTagLayout = "20060102T150405Z"

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
			if err := w.startType(ctx, t, nil); err != nil {
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
