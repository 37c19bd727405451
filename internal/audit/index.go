package audit

import (
	"slices"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// key names an object as the audit event's objectRef does. name is ""
// for a deletecollection, and for a create whose name the event does
// not carry (generateName at level Metadata): such an entry stands for
// any name of its namespace and resource, in approximate matches only.
type key struct{ group, resource, namespace, name string }

// entry is what the receiver keeps of one event: no body, only who,
// which object, how, and when.
type entry struct {
	key         key
	subresource string
	verb        string
	// rv is the resourceVersion of the object the API server answered
	// with, "" when the event did not carry it (level below
	// RequestResponse). objectRef.resourceVersion is not used: it is the
	// resourceVersion the request was made against (an update's
	// precondition), which is the previous change's.
	rv                  string
	received, completed time.Time // the API server's clock
	arrived             time.Time // this process's clock, for Retain
	actor               snapsync.Actor
}

// index holds entries by object, and in arrival order for expiry.
type index struct {
	byKey  map[key][]*entry
	queue  []*entry
	retain time.Duration
	max    int
}

func newIndex(retain time.Duration, max int) *index {
	return &index{byKey: map[key][]*entry{}, retain: retain, max: max}
}

// add stores es, then drops entries older than retain and the oldest
// beyond max: memory stays bounded whatever arrives.
func (x *index) add(now time.Time, es []*entry) {
	for _, e := range es {
		e.arrived = now
		x.queue = append(x.queue, e)
		x.byKey[e.key] = append(x.byKey[e.key], e)
	}
	n := 0
	for n < len(x.queue) && (len(x.queue)-n > x.max || now.Sub(x.queue[n].arrived) > x.retain) {
		x.remove(x.queue[n])
		n++
	}
	// The dropped front stays in the backing array until the next
	// append outgrows it; clearing it lets its entries go now.
	clear(x.queue[:n])
	x.queue = x.queue[n:]
}

func (x *index) remove(e *entry) {
	l := x.byKey[e.key]
	if i := slices.Index(l, e); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(x.byKey, e.key)
		return
	}
	x.byKey[e.key] = l
}

func (x *index) len() int { return len(x.queue) }

// exact returns the entry of q's object whose answer carried
// q.ResourceVersion: that request made the change, whatever its verb.
func (x *index) exact(q snapsync.AuditQuery) *entry {
	if q.ResourceVersion == "" {
		return nil
	}
	l := x.byKey[keyOf(q)]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].rv == q.ResourceVersion {
			return l[i]
		}
	}
	return nil
}

// approximate returns the entry that most likely made the change q when
// none carries its resourceVersion. Candidates are entries of q's object
// (or of its whole namespace and resource, for entries without a name)
// whose verb fits q.Op, whose request was received no later than skew
// after q.Seen, and which completed no earlier than window before it. An
// entry whose resourceVersion is known and differs from q's made another
// change, and is never a candidate.
//
// They rank by, in order:
//  1. not a status update: kubesnap does not store status, so a change it
//     commits comes from the object itself or another subresource
//     (scale), and a status update is only a last resort;
//  2. distance in time: 0 when q.Seen falls between the request's
//     receipt and its completion, else the gap to the nearer end;
//  3. the entry that names the object over one that names none;
//  4. the later completion.
func (x *index) approximate(q snapsync.AuditQuery, window, skew time.Duration) *entry {
	k := keyOf(q)
	var best *entry
	var bestRank rank
	consider := func(l []*entry) {
		for _, e := range l {
			if !fits(e, q.Op) || (e.rv != "" && q.ResourceVersion != "" && e.rv != q.ResourceVersion) {
				continue
			}
			if e.received.After(q.Seen.Add(skew)) || e.completed.Before(q.Seen.Add(-window)) {
				continue
			}
			r := rankOf(e, q.Seen)
			if best == nil || r.less(bestRank) {
				best, bestRank = e, r
			}
		}
	}
	consider(x.byKey[k])
	if k.name != "" {
		k.name = ""
		consider(x.byKey[k])
	}
	return best
}

type rank struct {
	status   bool
	distance time.Duration
	unnamed  bool
	done     time.Time
}

func rankOf(e *entry, seen time.Time) rank {
	r := rank{status: e.subresource == "status", unnamed: e.key.name == "", done: e.completed}
	switch {
	case seen.After(e.completed):
		r.distance = seen.Sub(e.completed)
	case seen.Before(e.received):
		r.distance = e.received.Sub(seen)
	}
	return r
}

func (r rank) less(o rank) bool {
	if r.status != o.status {
		return !r.status
	}
	if r.distance != o.distance {
		return r.distance < o.distance
	}
	if r.unnamed != o.unnamed {
		return !r.unnamed
	}
	return r.done.After(o.done)
}

// fits says whether e's request can have made a change of kind op. An
// apply (patch) or an update may create; a delete of an object with
// finalizers or a grace period only marks it, a Modified; a create on a
// subresource changes the object (pods/binding) or deletes it
// (pods/eviction).
func fits(e *entry, op snapsync.Op) bool {
	v := e.verb
	switch op {
	case snapsync.Added:
		return e.subresource == "" && (v == "create" || v == "patch" || v == "update")
	case snapsync.Modified:
		return v == "update" || v == "patch" || v == "delete" || (v == "create" && e.subresource != "")
	case snapsync.Deleted:
		return v == "delete" || v == "deletecollection" || (v == "create" && e.subresource == "eviction")
	}
	return false
}

func keyOf(q snapsync.AuditQuery) key {
	return key{group: q.ID.Group, resource: q.ID.Resource, namespace: q.ID.Namespace, name: q.ID.Name}
}
