package restore

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Revision is the repository's files at one revision (gitstore.Revision).
type Revision interface {
	// Files returns the blob id of every file under the prefix.
	Files(ctx context.Context) (map[string]string, error)
	// Read returns the content of path.
	Read(ctx context.Context, path string) ([]byte, error)
}

// Object is one object of the revision, as its file holds it.
type Object struct {
	ID   canonical.ID
	Path string
	Obj  *unstructured.Unstructured
	// Canonical says the file is in canonical form (kubesnap wrote it):
	// where it differs from the live object, the difference is real. A
	// file edited by hand may differ only in form; a dry-run tells.
	Canonical bool
	// Sealed says the file is encrypted (sops format) and was not
	// decrypted, for want of a key: Obj is its redacted form, which a
	// restore skips.
	Sealed bool
}

// Unseal decrypts a file in the sops format, returning the plain file.
type Unseal func(data []byte) ([]byte, error)

// keep is how a restore normalizes: sensitive values stay (a restore
// compares and applies them); kubesnap's digest annotation goes.
var keep = canonical.Facts{Protection: canonical.Protection{Keep: true}}

// BadFilesError lists the revision's files that are not objects a
// restore can apply, one line each; nothing is applied.
type BadFilesError struct{ Lines []string }

func (e *BadFilesError) Error() string {
	return fmt.Sprintf("%d files in the revision are not valid objects, nothing was applied:\n%s", len(e.Lines), strings.Join(e.Lines, "\n"))
}

// blobReader is a Revision that reads many files at once by their blob
// ids, faster than one Read a path (gitstore.Revision).
type blobReader interface {
	// ReadBlobs calls fn with the content of each blob of ids, in order,
	// from one goroutine; an error of fn stops it.
	ReadBlobs(ctx context.Context, ids []string, fn func(i int, data []byte) error) error
}

// Load reads every object file of rev in scope of f (files outside
// cluster/ and namespaces/, such as the coverage report, are not objects).
// A file whose name is not one kubesnap writes, or that
// canonical.ReadObject refuses (not one object, too large, another object
// than its path names), makes a *BadFilesError naming every such file:
// diff reads revisions through the same two functions. The files are read
// in one goroutine and parsed in as many as there are CPUs. Encrypted
// files are decrypted with unseal (a file that does not decrypt is a bad
// file); without it they are Sealed.
func Load(ctx context.Context, rev Revision, f canonical.Filter, unseal Unseal) ([]Object, error) {
	files, err := rev.Files(ctx)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// One result per object file, in path order: its object, or why it
	// is bad, or neither (out of scope).
	type result struct {
		obj Object
		bad string
		ok  bool
	}
	var results []result
	var toRead []int // indexes into results of the files to read
	var ids []string
	objectIDs, badPaths := canonical.ObjectFiles(paths)
	for _, b := range badPaths {
		results = append(results, result{bad: b})
	}
	for _, p := range paths {
		id, ok := objectIDs[p]
		if !ok || !f.ID(id) {
			continue
		}
		toRead = append(toRead, len(results))
		ids = append(ids, files[p])
		results = append(results, result{obj: Object{ID: id, Path: p}})
	}

	type file struct {
		i    int // into results
		data []byte
	}
	enc := new(canonical.Encoder) // one render cache for every file read
	work := make(chan file, 64)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 2) {
		wg.Go(func() {
			for fl := range work {
				r := &results[fl.i]
				obj, data, sealed, err := open(enc, r.obj.ID, fl.data, unseal)
				if err != nil {
					r.bad = fmt.Sprintf("%s: %v", r.obj.Path, err)
					continue
				}
				if !f.Labels(obj.GetLabels()) {
					continue
				}
				r.obj.Obj, r.obj.Canonical, r.obj.Sealed, r.ok = obj, isCanonical(enc, obj, data), sealed, true
			}
		})
	}
	send := func(i int, data []byte) error {
		select {
		case work <- file{i: toRead[i], data: data}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if br, ok := rev.(blobReader); ok {
		err = br.ReadBlobs(ctx, ids, send)
	} else {
		for i := range toRead {
			var data []byte
			if data, err = rev.Read(ctx, results[toRead[i]].obj.Path); err != nil {
				break
			}
			if err = send(i, data); err != nil {
				break
			}
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return nil, err
	}

	var out []Object
	var bad []string
	for _, r := range results {
		switch {
		case r.bad != "":
			bad = append(bad, r.bad)
		case r.ok:
			out = append(out, r.obj)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, &BadFilesError{Lines: bad}
	}
	return out, nil
}
