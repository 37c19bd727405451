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
// once, as loose objects or as one pack; or, when Stage streamed the
// blobs into a temporary pack, appends the others to that pack.
type staging struct {
	repo    *Repo
	objects map[plumbing.Hash]plumbing.EncodedObject
	staged  stagedSet // what Stage prepared for this commit
	// author, when set, is the commit's author (CommitAs).
	author *object.Signature
}

// newStaging starts a commit's objects with what Stage prepared. Its
// release must be called once the commit is done or failed.
func (r *Repo) newStaging() *staging {
	return &staging{repo: r, objects: map[plumbing.Hash]plumbing.EncodedObject{}, staged: r.takeStaged()}
}

// release removes the temporary pack flush did not install.
func (s *staging) release() { s.staged.release() }

// blob stages the blob of the file name and returns its id. Data nil
// means the file was staged (Stage): its blob is the one staged last for
// name, found in memory or in the temporary pack.
func (s *staging) blob(name string, data []byte) (plumbing.Hash, error) {
	if data == nil {
		h, ok := s.staged.paths[name]
		if !ok {
			return h, fmt.Errorf("commit %s: the change holds no data and the file was not staged", name)
		}
		if raw, ok := s.staged.raw[h]; ok {
			s.put(plumbing.BlobObject, raw)
			return h, nil
		}
		if !s.staged.stream.has(h) {
			return h, fmt.Errorf("commit %s: its staged blob %s is not in the pack being written", name, h)
		}
		return h, nil
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	if s.staged.stream.has(h) {
		return h, nil
	}
	return s.put(plumbing.BlobObject, data), nil
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
	if s.staged.err != nil {
		return fmt.Errorf("write pack: %w", s.staged.err)
	}
	st := s.repo.repo.Storer
	fs, onDisk := st.(*filesystem.Storage)
	if stream := s.staged.stream; stream != nil && onDisk { // Stage streams only on disk
		s.staged.stream = nil // finish installs it, or removes it
		if err := stream.finish(s.objects); err != nil {
			return fmt.Errorf("write pack: %w", err)
		}
		fs.Reindex()
		return nil
	}
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
	if err := writePack(filepath.Join(s.repo.gitDir(), "objects", "pack"), s.objects); err != nil {
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
