package gitstore

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// A commit that runs out of disk fails, leaves the branch where it was
// and the repository sound, and the next commit, once there is room,
// succeeds. The repository lives on a tmpfs of 4 MiB, which needs root
// (CI runs as root).
func TestCommitOnAFullDiskLeavesTheBranch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	repo := filepath.Join(dir, "repo")
	r := open(t, repo, Options{})
	first, err := r.Commit(t.Context(), []snapsync.Change{add("namespaces/a/configmaps/x.yaml", "x: 1\n")}, "first\n")
	if err != nil {
		t.Fatal(err)
	}
	// Fill the disk but for about 512 KiB.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	_ = f.Close()
	st, _ := os.Stat(filler)
	if err := os.Truncate(filler, st.Size()-512<<10); err != nil {
		t.Fatal(err)
	}

	big := make([]byte, 2<<20)
	_, _ = rand.Read(big)
	data := base64.StdEncoding.EncodeToString(big) // does not compress
	_, err = r.Commit(t.Context(), []snapsync.Change{
		{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: " + data + "\n")},
	}, "second\n")
	if err == nil {
		t.Fatal("a commit larger than the free space succeeded")
	}
	if head := strings.TrimSpace(gitCLI(t, repo, "rev-parse", "HEAD")); head != first {
		t.Errorf("after a failed commit HEAD is %s, want %s", head, first)
	}
	gitCLI(t, repo, "fsck", "--strict")

	// Room again: the next commit goes through, and the repository is
	// sound.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r = open(t, repo, Options{})
	if _, err := r.Commit(t.Context(), []snapsync.Change{
		{Op: snapsync.Modified, Path: "namespaces/a/configmaps/x.yaml", Data: []byte("x: 2\n")},
	}, "third\n"); err != nil {
		t.Fatalf("commit after the disk has room again: %v", err)
	}
	gitCLI(t, repo, "fsck", "--strict")
	if s := gitCLI(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("git status after the commits:\n%s", s)
	}
}
