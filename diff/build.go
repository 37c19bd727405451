package diff

import (
	"bytes"
	"sort"
)

// Build compares each pair and returns the report of those that differ,
// sorted by path. A pair whose two sides hold the same bytes is left out; an
// object on one side only is Added or Removed (NewLive or MissingLive when
// opts.Live). compared is the number of objects in scope on either side,
// which the report states as its total.
//
// Each entry's Diff is a unified diff with opts.Context lines of context.
// For a Secret, unless opts.ShowSecrets, every value under data and
// stringData is replaced by a placeholder before diffing (SameValue when
// equal on both sides, OldValue and NewValue when not) and SecretKeys says
// which keys differ; a Secret that cannot be parsed is not shown at all.
// Build is a pure function of its arguments.
func Build(pairs []Pair, compared int, opts Options) Report {
	r := Report{From: opts.From, To: opts.To, Compared: compared, Entries: []Entry{}}
	for _, p := range pairs {
		if (p.From == nil) == (p.To == nil) && bytes.Equal(p.From, p.To) {
			continue
		}
		r.Entries = append(r.Entries, entryOf(p, opts))
	}
	sort.SliceStable(r.Entries, func(i, j int) bool { return r.Entries[i].Path < r.Entries[j].Path })
	return r
}

// entryOf builds the entry of one pair whose sides differ.
func entryOf(p Pair, opts Options) Entry {
	e := Entry{
		Group:     p.ID.Group,
		Resource:  p.ID.Resource,
		Namespace: p.ID.Namespace,
		Name:      p.ID.Name,
		Path:      p.Path,
		Status:    statusOf(p, opts.Live),
		Note:      p.Note,
	}
	context := opts.Context
	if context == 0 {
		context = defaultContext
	}
	fromName, toName := headerNames(p, opts)
	switch {
	case isSecret(p.ID) && !opts.ShowSecrets:
		e.Diff, e.SecretKeys = secretDiff(p, fromName, toName, context, opts)
	case isSecret(p.ID):
		e.Diff = unified(fromName, toName, string(p.From), string(p.To), context)
		e.SecretKeys = shownSecretKeys(p)
	default:
		e.Diff = unified(fromName, toName, string(p.From), string(p.To), context)
	}
	return e
}

// shownSecretKeys lists the keys that differ when values are shown anyway,
// or nil when a side cannot be parsed (the diff itself then shows all).
func shownSecretKeys(p Pair) *SecretKeys {
	from, fromOK := parseSecret(p.From)
	to, toOK := parseSecret(p.To)
	if !fromOK || !toOK {
		return nil
	}
	return compareKeys(from.values, to.values)
}

// statusOf says how the two sides of p differ.
func statusOf(p Pair, live bool) Status {
	switch {
	case p.From == nil && live:
		return NewLive
	case p.From == nil:
		return Added
	case p.To == nil && live:
		return MissingLive
	case p.To == nil:
		return Removed
	default:
		return Changed
	}
}

// headerNames are the "---" and "+++" names of p's diff: the side's name
// and the path, or /dev/null for a side the object is not on (as git
// writes it).
func headerNames(p Pair, opts Options) (from, to string) {
	from, to = "/dev/null", "/dev/null"
	if p.From != nil {
		from = sideName(opts.From, "a") + "/" + p.Path
	}
	if p.To != nil {
		to = sideName(opts.To, "b") + "/" + p.Path
	}
	return from, to
}

// sideName is name, or fallback when the caller named no side.
func sideName(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}
