package gitstore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
)

// A maintainer's storage lists the pack folder without the replaced
// packs' files, and every other folder, and every other file there, as
// they are.
func TestMaintainersStorageDoesNotSeeReplacedPacks(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"objects/pack/pack-aa.idx", "objects/pack/pack-aa.pack", "objects/pack/pack-aa.rev",
		"objects/pack/pack-bb.idx", "objects/pack/pack-bb.pack", "objects/pack/pack-bb.keep",
		"objects/pack/tmp_pack_1", "objects/info/pack-aa.idx",
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := withoutPacks{osfs.New(dir), map[string]bool{"pack-aa": true}}
	names := func(p string) []string {
		infos, err := fs.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, fi := range infos {
			out = append(out, fi.Name())
		}
		slices.Sort(out)
		return out
	}
	want := []string{"pack-bb.idx", "pack-bb.keep", "pack-bb.pack", "tmp_pack_1"}
	for _, p := range []string{"objects/pack", "objects/pack/", "objects/../objects/pack"} {
		if got := names(p); !slices.Equal(got, want) {
			t.Errorf("ReadDir(%q) = %v, want %v", p, got, want)
		}
	}
	if got := names("objects/info"); !slices.Equal(got, []string{"pack-aa.idx"}) {
		t.Errorf("ReadDir(objects/info) = %v: only the pack folder hides anything", got)
	}
}
