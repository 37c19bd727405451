package gitstore

import (
	"fmt"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// packThreshold is how many new objects make a commit write one pack
// instead of loose objects: a first snapshot of a large cluster would
// otherwise create one file per object in .git/objects.
const packThreshold = 64

// staging collects a commit's new objects in memory and writes them at
// once, as loose objects or as one pack.
type staging struct {
	repo    *Repo
	objects map[plumbing.Hash]plumbing.EncodedObject
}

// put stages an object. It does not ask whether the repository has it
// already: that is one file lookup per object, which adds up in a first
// snapshot, while writing an object twice is harmless in git (the loose
// file is replaced by identical bytes, a pack may repeat an object) and
// rare, since only changed files are put.
func (s *staging) put(t plumbing.ObjectType, data []byte) plumbing.Hash {
	h := plumbing.ComputeHash(t, data)
	if _, ok := s.objects[h]; ok {
		return h
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	_, _ = obj.Write(data) // a MemoryObject's Write cannot fail
	s.objects[h] = obj
	return h
}

func (s *staging) flush() error {
	staged := s.repo.takeStaged() // taken on every path, so none outlive a commit
	st := s.repo.repo.Storer
	fs, onDisk := st.(*filesystem.Storage)
	if onDisk && len(s.objects) < packThreshold {
		return writeLoose(s.repo.gitDir(), s.objects) // synced, commits last (loose.go)
	}
	if !onDisk {
		for h, obj := range s.objects {
			if _, err := st.SetEncodedObject(obj); err != nil {
				return fmt.Errorf("write object %s: %w", h, err)
			}
		}
		return nil
	}
	if err := writePack(filepath.Join(s.repo.gitDir(), "objects", "pack"), s.objects, staged); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	fs.Reindex() // go-git reads the pack indexes again, with the new one
	return nil
}

// tree reads tree h from the objects staged so far, else from the
// repository. A rebase replays each commit onto the tree the one before
// made, and those trees are written only when the whole chain is done:
// reading them from the repository alone failed every rebase of two
// commits or more, for good, since the chain only grows while the
// push fails.
func (s *staging) tree(h plumbing.Hash) (*object.Tree, error) {
	if obj, ok := s.objects[h]; ok {
		return object.DecodeTree(s.repo.repo.Storer, obj)
	}
	return s.repo.repo.TreeObject(h)
}
