package sync

import (
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
)

// kubesnapDir is the folder, below the prefix, of kubesnap's own files
// (the coverage report). Only the folder identifies a snapshot: the
// files in it may change names.
const kubesnapDir = ".kubesnap/"

// HoldsSnapshot reports whether paths (a revision's files below the
// prefix) are a kubesnap snapshot: a file under .kubesnap/, or an object
// file under cluster/ or namespaces/ named as kubesnap names it. A
// repository that holds other files and none of these is not kubesnap's:
// snapshot and watch refuse to write into it, and diff says so rather than
// report every live object as new.
func HoldsSnapshot(paths []string) bool {
	for _, p := range paths {
		if strings.HasPrefix(p, kubesnapDir) {
			return true
		}
		if canonical.IsObjectPath(p) {
			if _, err := canonical.ParsePath(p); err == nil {
				return true
			}
		}
	}
	return false
}
