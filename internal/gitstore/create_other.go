//go:build !linux

package gitstore

import (
	"errors"
	"io/fs"
	"os"
)

// haveCreateIn says createIn writes files here: not on this system,
// where writeNew goes through os.Root.
const haveCreateIn = false

func createIn(*os.File, string, []byte, fs.FileMode) (fs.FileInfo, error) {
	return nil, errors.ErrUnsupported
}
