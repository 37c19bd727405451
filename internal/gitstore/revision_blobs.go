package gitstore

import (
	"context"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ReadBlobs calls fn with the content of each blob of ids (as Files gives
// them), in order, from one goroutine; an error of fn stops the reads and
// is returned. It reads whole revisions (a restore): each Read resolves
// its path from the root tree, and go-git opens the pack again for every
// object, where this reads the blobs by id with the packs kept open for
// the call.
func (v *Revision) ReadBlobs(ctx context.Context, ids []string, fn func(i int, data []byte) error) error {
	objects, done := v.repo.blobStorage()
	defer done()
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !plumbing.IsHash(id) {
			return fmt.Errorf("read blob %q at %s: not an object id", id, v.Name)
		}
		data, err := readBlob(objects, plumbing.NewHash(id))
		if err != nil {
			return fmt.Errorf("read blob %s at %s: %w", id, v.Name, err)
		}
		if err := fn(i, data); err != nil {
			return err
		}
	}
	return nil
}

// blobStorage is an object storage of the repository that keeps its pack
// files open until done is called; the repository's own storage when it
// is not on disk.
func (r *Repo) blobStorage() (objects storer.EncodedObjectStorer, done func()) {
	fs, ok := r.repo.Storer.(*filesystem.Storage)
	if !ok {
		return r.repo.Storer, func() {}
	}
	// Each blob is read once: the cache only serves delta bases.
	st := filesystem.NewStorageWithOptions(fs.Filesystem(), cache.NewObjectLRU(16*cache.MiByte), filesystem.Options{KeepDescriptors: true})
	return st, func() { _ = st.Close() } // read only: nothing is lost
}

// readBlob is the content of blob h.
func readBlob(objects storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	o, err := objects.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	data := make([]byte, o.Size())
	_, err = io.ReadFull(rd, data)
	if cerr := rd.Close(); err == nil {
		err = cerr
	}
	return data, err
}
