package sync

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// auditHolds reports whether the pending changes wait for their audit
// events: some change has none yet and was seen less than AuditWait ago.
// The commit is then due when the last of them has waited its AuditWait,
// or sooner when events arrive (the loop clears auditUntil).
func (w *Watcher) auditHolds() bool {
	if w.opts.Audit == nil || w.opts.AuditWait <= 0 || w.final {
		return false
	}
	now := w.now()
	var until time.Time
	w.mu.Lock()
	for p, c := range w.pending.changes {
		if c.Op != Deleted && w.stored[p] == "" {
			c.Op = Added // as takeBatch will say
		}
		if c.seen.IsZero() {
			continue // re-derived, not a change the watcher saw happen
		}
		deadline := c.seen.Add(w.opts.AuditWait)
		if !now.Before(deadline) || !deadline.After(until) {
			continue
		}
		if _, ok := w.opts.Audit.Who(auditQuery(c, c.Op)); !ok {
			until = deadline
		}
	}
	w.mu.Unlock()
	w.auditUntil = until
	return !until.IsZero()
}

// auditQuery asks for the event of pending change c, whose op is what
// the commit does (Added or Modified, from the stored file).
func auditQuery(c pendingChange, op Op) AuditQuery {
	return AuditQuery{ID: c.ID, Op: op, ResourceVersion: c.rv, Seen: c.seen}
}

// authored is the changes of one commit, and who made them; by is nil for
// changes no audit event matched: their commit names field managers, and
// its author is the store's own.
type authored struct {
	by      *Actor
	changes []Change
	trailer *AuditTrailers
}

// byAuthor splits a batch's changes (sorted by path) into one commit per
// user, the changes no event matched first, then by user name. Kubesnap's
// own files (the coverage file) go with the last commit.
func (w *Watcher) byAuthor(b batch) []authored {
	if w.opts.Audit == nil {
		return []authored{{changes: b.changes}}
	}
	var unmatched []Change
	var own []Change
	users := map[string]*authored{}
	for _, c := range b.changes {
		pc, ok := b.pending[c.Path]
		if !ok || c.ID.Name == "" {
			own = append(own, c)
			continue
		}
		a, ok := w.opts.Audit.Who(auditQuery(pc, c.Op))
		if !ok {
			unmatched = append(unmatched, c)
			continue
		}
		key := a.User + "\x00" + a.Impersonator
		g := users[key]
		if g == nil {
			g = &authored{by: &a, trailer: &AuditTrailers{User: trailerSafe(a.User), Impersonator: trailerSafe(a.Impersonator)}}
			users[key] = g
		}
		g.changes = append(g.changes, c)
		g.trailer.Matched++
		if a.Approximate {
			g.trailer.Approximate++
		}
		g.trailer.UserAgents = addOnce(g.trailer.UserAgents, trailerSafe(a.UserAgent))
		g.trailer.SourceIPs = addOnce(g.trailer.SourceIPs, trailerSafe(a.SourceIP))
	}
	var out []authored
	if len(unmatched) > 0 {
		out = append(out, authored{changes: unmatched})
	}
	keys := make([]string, 0, len(users))
	for k := range users {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, *users[k])
	}
	if len(out) == 0 {
		return []authored{{changes: own}}
	}
	last := &out[len(out)-1]
	last.changes = append(last.changes, own...)
	return out
}

// author is the git author of g's commit; ok is false for the store's own.
func (g authored) author() (Author, bool) {
	if g.by == nil {
		return Author{}, false
	}
	return Author{Name: g.by.User}, true
}

// maxTrailerValues bounds the user agents and source IPs one commit lists.
const maxTrailerValues = 3

func addOnce(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) || len(list) >= maxTrailerValues {
		return list
	}
	return append(list, v)
}

// maxTrailerValue bounds one trailer value, in bytes.
const maxTrailerValue = 200

// trailerSafe makes a value from an audit event fit one trailer line: a
// user agent is whatever the client sent, so a control character (a
// newline would start a trailer of its own) becomes a space, and the value
// is bounded.
func trailerSafe(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	if len(s) > maxTrailerValue {
		s = strings.ToValidUTF8(s[:maxTrailerValue], "") + "…"
	}
	return s
}

// write renders the audit trailers, one line each.
func (a *AuditTrailers) write(b *strings.Builder) {
	if a.User != "" {
		fmt.Fprintf(b, "Kubesnap-Audit-User: %s\n", a.User)
	}
	if a.Impersonator != "" {
		fmt.Fprintf(b, "Kubesnap-Audit-Impersonator: %s\n", a.Impersonator)
	}
	for _, ua := range a.UserAgents {
		fmt.Fprintf(b, "Kubesnap-Audit-User-Agent: %s\n", ua)
	}
	for _, ip := range a.SourceIPs {
		fmt.Fprintf(b, "Kubesnap-Audit-Source-IP: %s\n", ip)
	}
	switch a.Approximate {
	case 0:
		b.WriteString("Kubesnap-Audit-Match: exact\n")
	case a.Matched:
		b.WriteString("Kubesnap-Audit-Match: approximate\n")
	default:
		fmt.Fprintf(b, "Kubesnap-Audit-Match: approximate for %d of %d\n", a.Approximate, a.Matched)
	}
}
