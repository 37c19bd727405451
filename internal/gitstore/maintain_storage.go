package gitstore

import (
	"os"
	"path"
	"strings"

	"github.com/go-git/go-billy/v5"
)

// withoutPacks is the git folder as a maintainer's own storage reads it:
// without the packs a roll-up replaced, which stay on disk for readers in
// other processes until their grace ends. Every object they hold is in
// the pack that replaced them, so nothing is lost to the maintainer; and
// at a fast commit pace hundreds of them wait out their grace, whose
// indexes go-git would otherwise read each time a maintainer's storage
// opens or rescans the packs.
type withoutPacks struct {
	billy.Filesystem
	hidden map[string]bool // pack names, "pack-<hex>"
}

// ReadDir lists path, leaving out the hidden packs' files when path is
// the pack folder.
func (w withoutPacks) ReadDir(p string) ([]os.FileInfo, error) {
	infos, err := w.Filesystem.ReadDir(p)
	if err != nil || len(w.hidden) == 0 || path.Clean(p) != "objects/pack" {
		return infos, err
	}
	kept := infos[:0]
	for _, fi := range infos {
		name := fi.Name()
		if i := strings.LastIndexByte(name, '.'); i > 0 && w.hidden[name[:i]] {
			continue
		}
		kept = append(kept, fi)
	}
	return kept, nil
}
