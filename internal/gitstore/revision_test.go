package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// readAll reads every file of the revision under the prefix with
// ReadBlobs, and checks it against Read.
func readAll(t *testing.T, r *Repo) map[string]string {
	t.Helper()
	v, err := r.At("")
	if err != nil {
		t.Fatal(err)
	}
	files, err := v.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var paths, ids []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		ids = append(ids, files[p])
	}
	got := map[string]string{}
	err = v.ReadBlobs(t.Context(), ids, func(i int, data []byte) error {
		got[paths[i]] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		want, err := v.Read(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got[p] != string(want) {
			t.Errorf("%s: ReadBlobs gave %q, Read %q", p, got[p], want)
		}
	}
	return got
}

func TestReadBlobsReadsLooseDeltifiedAndKubesnapObjects(t *testing.T) {
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q", "-b", "main")
	// Files git writes as loose objects, alike enough to become deltas
	// once packed.
	write := func(round int) {
		for i := range 30 {
			p := filepath.Join(dir, "k", "namespaces", fmt.Sprintf("ns-%d", i%3), "configmaps", fmt.Sprintf("cm-%02d.yaml", i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			data := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%02d\ndata:\n  round: %q\n%s", i, fmt.Sprint(round), strings.Repeat("  padding: the same long line in every file, for deltas\n", 20))
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		gitCLI(t, dir, "add", "-A")
		gitCLI(t, dir, "commit", "-q", "-m", fmt.Sprintf("round %d", round))
	}
	write(1)
	r := open(t, dir, Options{Prefix: "k", ReadOnly: true})
	if got := readAll(t, r); len(got) != 30 || !strings.Contains(got["namespaces/ns-0/configmaps/cm-00.yaml"], `round: "1"`) {
		t.Fatalf("loose objects: read %d files: %v", len(got), got["namespaces/ns-0/configmaps/cm-00.yaml"])
	}

	write(2)
	gitCLI(t, dir, "gc", "-q", "--aggressive")
	if n := gitCLI(t, dir, "count-objects", "-v"); !strings.Contains(n, "count: 0\n") {
		t.Fatalf("git gc left loose objects:\n%s", n)
	}
	r = open(t, dir, Options{Prefix: "k"})
	if got := readAll(t, r); len(got) != 30 || !strings.Contains(got["namespaces/ns-1/configmaps/cm-01.yaml"], `round: "2"`) {
		t.Fatalf("packed objects: read %d files", len(got))
	}

	// A pack kubesnap writes, on top.
	if _, err := r.Commit(t.Context(), []snapsync.Change{
		{Op: snapsync.Modified, Path: "namespaces/ns-0/configmaps/cm-00.yaml", Data: []byte("round: 3\n")},
		add("cluster/namespaces/ns-0.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-0\n"),
	}, "round 3\n"); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if len(got) != 31 || got["namespaces/ns-0/configmaps/cm-00.yaml"] != "round: 3\n" {
		t.Fatalf("after a kubesnap commit: read %d files, cm-00 %q", len(got), got["namespaces/ns-0/configmaps/cm-00.yaml"])
	}
}

func TestReadBlobsStopsOnAnUnknownIDAndOnTheCallersError(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("a.yaml", "a\n"), add("b.yaml", "b\n")}, "first\n"); err != nil {
		t.Fatal(err)
	}
	v, err := r.At("")
	if err != nil {
		t.Fatal(err)
	}
	files, err := v.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("ab", 20)
	n := 0
	err = v.ReadBlobs(t.Context(), []string{files["a.yaml"], missing, files["b.yaml"]}, func(int, []byte) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), missing) || n != 1 {
		t.Errorf("an id the repository does not hold: %v after %d blobs", err, n)
	}
	if err := v.ReadBlobs(t.Context(), []string{"HEAD"}, func(int, []byte) error { return nil }); err == nil {
		t.Error("a name that is not an object id was read")
	}
	stop := errors.New("stop")
	n = 0
	err = v.ReadBlobs(t.Context(), []string{files["a.yaml"], files["b.yaml"]}, func(int, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d blobs", err, n)
	}
}
