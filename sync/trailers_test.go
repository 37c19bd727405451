package sync

import (
	"strings"
	"testing"
)

type prefixedStore struct{ *fakeStore }

func (prefixedStore) Prefix() string { return "clusters/a" }

func TestTrailersSayWhatLogReads(t *testing.T) {
	changes := []Change{
		change(Added, "", "configmaps", "shop", "a", ""),
		change(Deleted, "", "configmaps", "shop", "b", ""),
		{Op: Modified, Path: CoveragePath},
	}
	tr := Trailers{Objects: 9, Changed: changedCount(changes), Path: storePath(prefixedStore{newFakeStore()})}
	msg := Message(changes, tr)
	if !strings.HasSuffix(msg, "\n\nKubesnap-Objects: 9\nKubesnap-Changed: 2\nKubesnap-Path: clusters/a\n") {
		t.Errorf("message does not end with the count and the path:\n%s", msg)
	}
	if n, ok := ChangedOf(msg); !ok || n != 2 {
		t.Errorf("ChangedOf = %d, %v; want 2", n, ok)
	}
	if p, ok := Trailer(msg, PathTrailer); !ok || p != "clusters/a" {
		t.Errorf("Trailer(Kubesnap-Path) = %q, %v", p, ok)
	}
	if p := storePath(newFakeStore()); p != "" {
		t.Errorf("a store without a prefix has path %q", p)
	}
	for _, msg := range []string{
		"Update 1 object\n",                                    // an older kubesnap's, or a person's
		"Kubesnap-Changed: 3\n\nbody\n",                        // not in the last paragraph
		"Update\n\nKubesnap-Changed: -1\n",                     // not a count
		"Update\n\nKubesnap-Objects: 3\nKubesnap-Changed: x\n", // not a count
	} {
		if n, ok := ChangedOf(msg); ok {
			t.Errorf("ChangedOf(%q) = %d, want none", msg, n)
		}
	}
}
