package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The index is the one file a commit must rewrite whole: git keeps one
// entry per tracked file in it, and a checksum of all of it. Three things
// keep that cheap in a large repository. The decoded index is kept between
// commits and reread only when the file changed under us (a person ran git
// add). It is encoded by encodeIndex below rather than go-git's encoder,
// which writes each field through reflection and is several times slower
// (see BENCHMARKS.md); go-git still reads it, and writes every index this
// one cannot. And a commit that only changes tracked files in place
// patches their entries in the bytes last written (patchIndex) and
// rehashes them, without encoding the others again.

func (r *Repo) indexPath() string { return filepath.Join(r.gitDir(), "index") }

// loadIndex returns the index, from memory when the file is still the one
// last written, once the index commits left to write is written.
func (r *Repo) loadIndex() (*index.Index, error) {
	if err := r.waitIndex(); err != nil {
		return nil, err
	}
	return r.readIndex()
}

// loadCommitIndex is loadIndex for a commit in the background
// (Options.IndexInBackground): an index earlier commits left to write is
// not written first, but returned, for this commit to add its entries to.
func (r *Repo) loadCommitIndex() (*index.Index, error) {
	if err := r.claimIndex(); err != nil {
		return nil, err
	}
	if idx := r.claimedIndex(); idx != nil {
		return idx, nil
	}
	return r.readIndex()
}

// readIndex returns the index from memory when the file is still the one
// last written, else from the file.
func (r *Repo) readIndex() (*index.Index, error) {
	if r.index != nil {
		if fi, err := os.Stat(r.indexPath()); err == nil && fi.Size() == r.indexSize && fi.ModTime().Equal(r.indexTime) {
			return r.index, nil
		}
	}
	idx, err := r.repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	r.index, r.indexFile, r.indexAt = idx, nil, nil
	return idx, nil
}

// saveIndex writes idx (its entries sorted by name) and remembers it. m
// says what mergeIndex changed: when it only replaced entries in place and
// idx is the index last written here, the bytes of those entries are
// patched in the file's last content instead of encoding all of them.
func (r *Repo) saveIndex(idx *index.Index, m merged) error {
	file, at := r.indexFile, r.indexAt
	r.index, r.indexFile, r.indexAt = nil, nil, nil
	var err error
	if m.inPlace && file != nil && len(at) == len(idx.Entries) {
		file, err = patchIndex(file, at, idx, m.replaced)
	} else {
		file, at, err = encodeIndex(idx)
	}
	if err == nil {
		err = replaceFile(r.indexPath(), file)
	} else {
		file, at = nil, nil
	}
	if errors.Is(err, errIndexFormat) {
		if err := r.repo.Storer.SetIndex(idx); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	fi, err := os.Stat(r.indexPath())
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	r.index, r.indexSize, r.indexTime = idx, fi.Size(), fi.ModTime()
	r.indexFile, r.indexAt = file, at
	return nil
}

// errIndexFormat says an index needs what encodeIndex does not write.
var errIndexFormat = errors.New("index needs go-git's encoder")

// merged says what mergeIndex did, for saveIndex.
type merged struct {
	// inPlace: entries were only replaced by entries of the same name,
	// at the indexes replaced.
	inPlace  bool
	replaced []int
}

// mergeIndex puts the written entries into idx, replacing those of the
// same name, and drops the removed ones, keeping idx sorted by name (as
// git keeps it: an index read from disk is). Entries are found by binary
// search, so that a commit of a few files does not visit all of them.
func mergeIndex(idx *index.Index, written []*index.Entry, removed map[string]bool) merged {
	m := merged{inPlace: len(removed) == 0}
	find := func(name string) (int, bool) {
		i := sort.Search(len(idx.Entries), func(i int) bool { return idx.Entries[i].Name >= name })
		return i, i < len(idx.Entries) && idx.Entries[i].Name == name && idx.Entries[i].Stage == 0
	}
	var added []*index.Entry
	for _, e := range written {
		if e == nil {
			continue
		}
		if i, ok := find(e.Name); ok {
			idx.Entries[i] = e
			m.replaced = append(m.replaced, i)
			continue
		}
		added = append(added, e)
	}
	if len(added) > 0 {
		m.inPlace = false
		idx.Entries = mergeSorted(idx.Entries, added)
		// A name written twice keeps its last entry.
		kept := idx.Entries[:0]
		for i, e := range idx.Entries {
			if i+1 < len(idx.Entries) && idx.Entries[i+1].Name == e.Name && e.Stage == 0 && idx.Entries[i+1].Stage == 0 {
				continue
			}
			kept = append(kept, e)
		}
		idx.Entries = kept
	}
	if len(removed) > 0 {
		kept := idx.Entries[:0]
		for _, e := range idx.Entries {
			if !removed[e.Name] {
				kept = append(kept, e)
			}
		}
		idx.Entries = kept
	}
	return m
}

// mergeSorted returns the entries of old (sorted by name) and added in
// order of name, each name's entries as they came, old's first: a
// stable sort of both. added is sorted first, which costs little when it
// comes sorted (a snapshot's changes are); a first snapshot's 100,000
// entries are then merged in one pass rather than sorted again with
// old's.
func mergeSorted(old, added []*index.Entry) []*index.Entry {
	byName := func(a, b *index.Entry) int { return strings.Compare(a.Name, b.Name) }
	slices.SortStableFunc(added, byName)
	out := make([]*index.Entry, 0, len(old)+len(added))
	for len(old) > 0 || len(added) > 0 {
		if len(added) == 0 || len(old) > 0 && old[0].Name <= added[0].Name {
			out, old = append(out, old[0]), old[1:]
			continue
		}
		out, added = append(out, added[0]), added[1:]
	}
	return out
}
