package sync

import (
	"context"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
)

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
	todo, _, _ := chooseTypes(disc, w.opts.Snapshot.Filter, w.opts.Snapshot.Secrets)
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
		if sk.unlisted() {
			listFailed[sk.Resource] = true
		}
	}
	changed := false
	for dir, t := range want {
		newVersion := false
		if old, ok := w.types[dir]; ok {
			if old.Version == t.Version && old.Kind == t.Kind && old.Namespaced == t.Namespaced {
				continue
			}
			// A new preferred version: follow it instead, keeping the
			// objects (their files change with their apiVersion). The
			// new informers' lists say which are live: objects deleted
			// while no informer watched leave once they synced.
			w.log.Info("type served at a new version", "resource", dir, "version", t.Version)
			w.stopTypeInformers(dir)
			newVersion = true
		} else if listFailed[dir] {
			continue // the next scheduled snapshot tries its list again
		}
		if err := w.startType(ctx, t, nil); err != nil {
			w.log.Warn("cannot watch type", "resource", dir, "error", err)
			continue
		}
		w.log.Info("watching type", "resource", dir, "version", t.Version)
		if newVersion {
			w.newVersionWaits.Add(1)
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
		w.pending.touch(w.now())
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
