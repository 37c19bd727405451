package gitstore

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// objectsState is what the objects folder holds, as maintenance sees it.
type objectsState struct {
	loose []plumbing.Hash
	packs []packFile // usable, not kept, not replaced
	kept  int        // packs with a .keep file: never touched
	size  int64      // bytes under objects/
}

// packFile is one pack with its index.
type packFile struct {
	name  string // "pack-<hex>", without extension
	count int    // objects, from the index's fan-out table
}

// scanObjects lists the loose objects and the packs of objects/, leaving
// out the packs in replaced (waiting for their grace period to end).
// Files of other writers (tmp_*, a pack without its index) are passed by.
func scanObjects(objDir string, replaced map[string]time.Time) (objectsState, error) {
	var st objectsState
	err := filepath.WalkDir(objDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				st.size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read %s: %w", objDir, err)
	}
	fans, err := os.ReadDir(objDir)
	if err != nil {
		return st, fmt.Errorf("read %s: %w", objDir, err)
	}
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 || !isHex(fan.Name()) {
			continue
		}
		names, err := os.ReadDir(filepath.Join(objDir, fan.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("read %s: %w", filepath.Join(objDir, fan.Name()), err)
		}
		for _, n := range names {
			if len(n.Name()) == 38 && isHex(n.Name()) && n.Type().IsRegular() {
				st.loose = append(st.loose, plumbing.NewHash(fan.Name()+n.Name()))
			}
		}
	}
	packDir := filepath.Join(objDir, "pack")
	names, err := os.ReadDir(packDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("read %s: %w", packDir, err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n.Name()] = true
	}
	for _, n := range names {
		base, ok := strings.CutSuffix(n.Name(), ".pack")
		if !ok || !strings.HasPrefix(base, "pack-") || !have[base+".idx"] || !replaced[base].IsZero() {
			continue
		}
		if have[base+".keep"] {
			st.kept++
			continue
		}
		count, err := packCount(filepath.Join(packDir, base+".idx"))
		if err != nil {
			return st, err
		}
		st.packs = append(st.packs, packFile{name: base, count: count})
	}
	return st, nil
}

// packCount reads how many objects a pack index lists: the last entry of
// its fan-out table, after the version 2 header or at the start of a
// version 1 index.
func packCount(idx string) (int, error) {
	f, err := os.Open(idx)
	if err != nil {
		return 0, fmt.Errorf("read pack index %s: %w", idx, err)
	}
	defer f.Close() //nolint:errcheck // read only
	var hdr [8]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, fmt.Errorf("read pack index %s: %w", idx, err)
	}
	off := int64(255 * 4)
	if string(hdr[:4]) == "\xfftOc" {
		off += 8
	}
	var last [4]byte
	if _, err := f.ReadAt(last[:], off); err != nil {
		return 0, fmt.Errorf("read pack index %s: %w", idx, err)
	}
	return int(binary.BigEndian.Uint32(last[:])), nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}
