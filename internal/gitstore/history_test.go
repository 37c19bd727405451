package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// historyOf lists "op path [from] by author" for each change History
// reports.
func historyOf(t *testing.T, r *Repo, p string, opts HistoryOptions) []string {
	t.Helper()
	var out []string
	err := r.History(p, opts, func(c ObjectChange) error {
		s := fmt.Sprintf("%c %s", c.Op, c.Path)
		if c.From != "" {
			s += " from " + c.From
		}
		out = append(out, s+" by "+c.Author)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHistoryFollowsAnObjectThroughMovesAndDeletions(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "clusters/a"})
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { at = at.Add(time.Hour); return at }
	old, now := "namespaces/shop/ingresses.extensions/front.yaml", "namespaces/shop/ingresses.networking.k8s.io/front.yaml"
	other := "namespaces/shop/ingresses.other.io/front.yaml" // another object of that name, in another group
	commit(t, r, "add\n", add(old, "v: 1\n"), add(other, "o: 1\n"))
	commit(t, r, "change\n", modify(old, "v: 2\n"))
	commit(t, r, "unrelated\n", add("namespaces/shop/configmaps/x.yaml", "x\n"))
	commit(t, r, "move\n", remove(old), add(now, "v: 3\n"))
	commit(t, r, "other changes\n", modify(other, "o: 2\n"))
	commit(t, r, "delete\n", remove(now))
	commit(t, r, "re-create\n", add(now, "v: 4\n"))
	got := historyOf(t, r, now, HistoryOptions{})
	want := []string{
		"A " + now + " by kubesnap",
		"D " + now + " by kubesnap",
		"A " + now + " from " + old + " by kubesnap",
		"M " + old + " by kubesnap",
		"A " + old + " by kubesnap",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("History:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The object still in the other group has a history of its own.
	if got := historyOf(t, r, other, HistoryOptions{}); len(got) != 2 {
		t.Errorf("History of the other group's object: %v", got)
	}
	// Paged by count and by time, with go-git's and kubesnap's packs.
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		opts HistoryOptions
		n    int
	}{
		{HistoryOptions{Limit: 2}, 2},
		{HistoryOptions{Since: t0.Add(4 * time.Hour)}, 3},
		{HistoryOptions{Until: t0.Add(4 * time.Hour)}, 3},
		{HistoryOptions{Since: t0.Add(2 * time.Hour), Until: t0.Add(6 * time.Hour), Limit: 1}, 1},
	} {
		if got := historyOf(t, r, now, tt.opts); len(got) != tt.n {
			t.Errorf("History %+v = %v, want %d changes", tt.opts, got, tt.n)
		}
	}
	gitCLI(t, dir, "gc", "-q")
	if got := historyOf(t, r, now, HistoryOptions{}); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("History after git gc:\n%s", strings.Join(got, "\n"))
	}
}

func TestHistoryRefusesLinksAndFolders(t *testing.T) {
	for _, kind := range []string{"symlink", "submodule", "folder", "a file above"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			r := open(t, dir, Options{})
			p := "namespaces/shop/configmaps/x.yaml"
			commit(t, r, "add\n", add(p, "v: 1\n"))
			// The hostile commit, by plumbing, then a good one on top:
			// the walk meets it on the way back.
			gitCLI(t, dir, "rm", "-q", "--cached", p)
			blob := strings.TrimSpace(gitIn(t, dir, "x", "hash-object", "-w", "--stdin"))
			switch kind {
			case "symlink":
				gitCLI(t, dir, "update-index", "--add", "--cacheinfo", "120000,"+blob+","+p)
			case "submodule":
				gitCLI(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("ab", 20)+","+p)
			case "folder":
				gitCLI(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+p+"/y.yaml")
			case "a file above":
				gitCLI(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+",namespaces/shop/configmaps")
			}
			gitCLI(t, dir, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-q", "-m", "hostile")
			rd := open(t, dir, Options{ReadOnly: true})
			err := rd.History(p, HistoryOptions{}, func(ObjectChange) error { return nil })
			var link *LinkError
			switch {
			case err == nil:
				t.Fatal("History read through the hostile commit")
			case kind == "symlink" || kind == "submodule":
				if !errors.As(err, &link) || !strings.Contains(err.Error(), "commit ") {
					t.Errorf("History = %v, want a LinkError naming the commit", err)
				}
			case !strings.Contains(err.Error(), "is a f"):
				t.Errorf("History = %v", err)
			}
		})
	}
}

func TestHistoryRefusesAPathOutOfTheRepository(t *testing.T) {
	r := open(t, t.TempDir(), Options{})
	commit(t, r, "add\n", add("namespaces/a/configmaps/x.yaml", "x\n"))
	for _, p := range []string{"../x.yaml", "namespaces//x.yaml", ".git/config"} {
		if err := r.History(p, HistoryOptions{}, func(ObjectChange) error { return nil }); err == nil {
			t.Errorf("History(%q) read", p)
		}
	}
	if err := r.History("namespaces/a/configmaps/x.yaml", HistoryOptions{Start: "HEAD"}, func(ObjectChange) error { return nil }); err == nil || !strings.Contains(err.Error(), "not a commit id") {
		t.Errorf("History from a name, not an id = %v", err)
	}
	if err := r.History("namespaces/a/configmaps/x.yaml", HistoryOptions{Start: strings.Repeat("ab", 20)}, func(ObjectChange) error { return nil }); err == nil || !strings.Contains(err.Error(), "read commit") {
		t.Errorf("History from a missing commit = %v", err)
	}
	empty := open(t, t.TempDir(), Options{})
	if err := empty.History("namespaces/a/configmaps/x.yaml", HistoryOptions{}, func(ObjectChange) error { return nil }); err == nil || !strings.Contains(err.Error(), "no commits yet") {
		t.Errorf("History of an empty repository = %v", err)
	}
}

// TestHistoryPacksReadWhatGoGitReads reads every object of a maintained
// repository (kubesnap's packs, with deltas, and git's own after gc)
// through the walk's pack reader and through go-git.
func TestHistoryPacksReadWhatGoGitReads(t *testing.T) {
	dir := t.TempDir()
	r, _ := historyRepo(t, dir, 300, 200)
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		rd := open(t, dir, Options{ReadOnly: true}) // go-git lists the packs afresh
		hp := openHistoryPacks(rd.gitDir())
		defer hp.close()
		if len(hp.packs) == 0 {
			t.Fatalf("%s: no pack opened", what)
		}
		lines := strings.Fields(gitCLI(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname):%(objecttype)"))
		for _, l := range lines {
			id, typ, _ := strings.Cut(l, ":")
			ot, err := plumbing.ParseObjectType(typ)
			if err != nil {
				t.Fatal(err)
			}
			h := plumbing.NewHash(id)
			got, err := hp.read(h, ot)
			if err != nil {
				t.Fatalf("%s: read %s %s: %v", what, typ, id, err)
			}
			obj, err := rd.repo.Storer.EncodedObject(ot, h)
			if err != nil {
				t.Fatal(err)
			}
			want, err := readObject(obj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %s %s differs from go-git's", what, typ, id)
			}
		}
		if _, err := hp.read(plumbing.NewHash(strings.Repeat("0", 39)+"1"), plumbing.BlobObject); !errors.Is(err, errNotInPacks) {
			t.Errorf("%s: a missing object: %v", what, err)
		}
	}
	check("kubesnap's packs")
	gitCLI(t, dir, "gc", "-q", "--aggressive")
	check("git gc's pack")
}

func TestHistoryPacksRefuseCorruptData(t *testing.T) {
	for _, tt := range []struct {
		name  string
		delta []byte
		base  []byte
	}{
		{"base of another size", []byte{5, 1, 1, 'x'}, []byte("abcd")},
		{"copy past the base", []byte{4, 4, 0x91, 2, 8}, []byte("abcd")},
		{"cut short", []byte{4, 10, 0x91}, []byte("abcd")},
		{"zero opcode", []byte{4, 1, 0}, []byte("abcd")},
		{"wrong result size", []byte{4, 9, 1, 'x'}, []byte("abcd")},
		{"no header", nil, nil},
	} {
		if _, err := applyDelta(tt.base, tt.delta); err == nil {
			t.Errorf("%s: applied", tt.name)
		}
	}
	if out, err := applyDelta([]byte("abcd"), []byte{4, 4, 0x91, 1, 2, 2, 'x', 'y'}); err != nil || string(out) != "bcxy" {
		t.Errorf("applyDelta = %q %v, want bcxy", out, err)
	}
	if _, _, n := historyObjectHeader([]byte{0x95}); n != 0 {
		t.Error("a header cut short was read")
	}
	if _, n := ofsDeltaOffset([]byte{0x80}); n != 0 {
		t.Error("an offset cut short was read")
	}
	// An index that is not one is left to go-git.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "objects", "pack"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"pack-a.idx": "not an index", "pack-b.idx": "\xfftOc\x00\x00\x00\x02short"} {
		if err := os.WriteFile(filepath.Join(dir, "objects", "pack", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if hp := openHistoryPacks(dir); len(hp.packs) != 0 {
		t.Errorf("opened %d bad packs", len(hp.packs))
	}
}

// The trees a watcher writes, as history reads them: modes spelled as
// an older git did are read as go-git decodes them.
func TestHistoryReadsATreeNotInCanonicalForm(t *testing.T) {
	raw := []byte("100664 a.yaml\x00" + strings.Repeat("\x01", 20))
	got, entries, err := recodeTree(raw)
	if err != nil || len(entries) != 1 || !bytes.HasPrefix(got, []byte("100644 a.yaml\x00")) {
		t.Errorf("recodeTree = %q %v %v", got, entries, err)
	}
	if _, _, err := recodeTree([]byte("100644 b\x00" + strings.Repeat("\x01", 20) + "100644 a\x00" + strings.Repeat("\x01", 20))); err == nil {
		t.Error("a tree out of order was read")
	}
}
