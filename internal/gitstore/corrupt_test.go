package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// A corrupt object in the repository (a truncated or overwritten blob, as
// a failing disk or a hostile copy leaves) is an error naming the file,
// never a panic or wrong content.
func TestACorruptBlobIsAnError(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("namespaces/a/configmaps/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n")}, "second\n"); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(gitCLI(t, dir, "rev-parse", "HEAD:namespaces/a/configmaps/x.yaml"))
	obj := filepath.Join(dir, ".git", "objects", id[:2], id[2:])
	if err := os.Chmod(obj, 0o644); err != nil {
		t.Fatalf("the blob is not a loose object: %v", err)
	}
	if err := os.WriteFile(obj, []byte("not zlib at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	rev, err := open(t, dir, Options{ReadOnly: true}).At("HEAD")
	if err != nil {
		t.Fatalf("At: %v", err)
	}
	data, err := rev.Read(t.Context(), "namespaces/a/configmaps/x.yaml")
	if err == nil {
		t.Fatalf("a corrupt blob read as %q", data)
	}
	if !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("the error does not name the file: %v", err)
	}
	if err := rev.ReadBlobs(t.Context(), []string{id}, func(int, []byte) error { return nil }); err == nil {
		t.Error("ReadBlobs of a corrupt blob succeeded")
	}
}
