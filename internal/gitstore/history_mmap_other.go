//go:build !linux

package gitstore

import "errors"

// mapFile is not implemented here: the history walk reads every object
// through go-git's storage.
func mapFile(string) ([]byte, func(), error) {
	return nil, nil, errors.New("not mapped on this system")
}
