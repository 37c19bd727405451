package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// The repository is a boundary: what it holds is read, never trusted.
// These tests need no cluster: every refusal comes before kubesnap
// connects to one (an unreachable kubeconfig is given, so that a test
// that got past the refusal says so).

// gitRepo makes a repository with git itself, holding files (path →
// content) in one commit; "" for no commit.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "--quiet", "--initial-branch=main")
	if len(files) == 0 {
		return dir
	}
	for p, data := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(p)), data)
	}
	commitAll(t, dir, "by hand")
	return dir
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A", ".")
	git(t, dir, "-c", "user.name=person", "-c", "user.email=person@example.com", "commit", "--quiet", "-m", msg)
}

// unreachable is a kubeconfig of a server that does not answer.
func unreachable(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, file, `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`)
	return file
}

// kubesnapObject is a file kubesnap could have written.
const kubesnapObject = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n"

func TestRepositoryMessagesAreOneClearLine(t *testing.T) {
	kc := unreachable(t)
	missing := filepath.Join(t.TempDir(), "no-such-repo")
	empty := gitRepo(t, nil)
	shared := gitRepo(t, map[string]string{
		"clusters/a/namespaces/a/configmaps/x.yaml": kubesnapObject,
		"clusters/b/.kubesnap/coverage.yaml":        "captured: []\n",
		"README.md":                                 "# clusters\n",
	})
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"log of a missing --repo", []string{"log", "--repo", missing}, 1, []string{missing, "does not exist", "--repo"}},
		{"diff of a missing --repo", []string{"diff", "--repo", missing}, 2, []string{missing, "does not exist"}},
		{"diff --to of a missing --repo", []string{"diff", "--repo", missing, "--to", "HEAD"}, 2, []string{missing, "does not exist"}},
		{"restore of a missing --repo", []string{"restore", "--repo", missing, "--rev", "HEAD"}, 1, []string{missing, "does not exist"}},
		{"log of an empty repository", []string{"log", "--repo", empty}, 1, []string{"branch main of repository " + empty + " has no commits yet", "kubesnap snapshot"}},
		{"log -o json of an empty repository", []string{"log", "--repo", empty, "-o", "json"}, 1, []string{"has no commits yet"}},
		{"diff of an empty repository", []string{"diff", "--repo", empty}, 2, []string{"branch main of repository " + empty + " has no commits yet"}},
		{"diff without the --path it was written with", []string{"diff", "--repo", shared}, 2, []string{"no kubesnap snapshot at the top of repository " + shared, "it holds clusters/a, clusters/b: give --path"}},
		{"diff with a --path that holds none", []string{"diff", "--repo", shared, "--path", "clusters/c"}, 2, []string{"no kubesnap snapshot under --path clusters/c", "it holds clusters/a, clusters/b"}},
		{"restore without the --path it was written with", []string{"restore", "--repo", shared, "--rev", "HEAD"}, 1, []string{"no kubesnap snapshot at the top", "give --path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args[0] != "log" { // log reads no cluster
				args = append(args, "--kubeconfig", kc)
			}
			out, errOut, code := kubesnap(t, args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%s)", code, tt.code, errOut)
			}
			if tt.args[0] != "log" && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			oneLine(t, errOut, tt.want...)
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a read command made the missing repository: %v", err)
	}
}

func TestARepositoryKubesnapDidNotWriteIsRefused(t *testing.T) {
	kc := unreachable(t)
	foreign := map[string]string{"README.md": "# app\n", "src/main.go": "package main\n", "docs/a.md": "a\n"}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"snapshot at the top", []string{"snapshot"}, 1, []string{"holds files kubesnap did not write (README.md, docs/a.md, src/main.go)", "give --path a free folder"}},
		{"watch at the top", []string{"watch", "--listen", ""}, 1, []string{"holds files kubesnap did not write", "give --path a free folder"}},
		{"snapshot into a folder of other files", []string{"snapshot", "--path", "docs"}, 1, []string{"folder docs of repository", "(docs/a.md)", "give --path a free folder"}},
		{"diff", []string{"diff"}, 2, []string{"no kubesnap snapshot at the top of repository", "give --repo a repository kubesnap snapshot wrote"}},
		{"restore", []string{"restore", "--rev", "HEAD"}, 1, []string{"no kubesnap snapshot at the top of repository"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := gitRepo(t, foreign)
			head := git(t, repo, "rev-parse", "HEAD")
			_, errOut, code := kubesnap(t, append(tt.args, "--repo", repo, "--kubeconfig", kc)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%s)", code, tt.code, errOut)
			}
			oneLine(t, errOut, append(tt.want, repo)...)
			if got := git(t, repo, "rev-parse", "HEAD"); got != head {
				t.Errorf("the branch moved to %s", got)
			}
			if s := git(t, repo, "status", "--porcelain", "--untracked-files=all"); s != "" {
				t.Errorf("the worktree changed:\n%s", s)
			}
		})
	}
	// A free folder, or an empty repository, is taken: the snapshot gets
	// past the check, to the cluster.
	for name, args := range map[string][]string{
		"a free --path":         {"--repo", gitRepo(t, foreign), "--path", "clusters/east"},
		"an empty repository":   {"--repo", gitRepo(t, nil)},
		"a kubesnap repository": {"--repo", gitRepo(t, map[string]string{"namespaces/a/configmaps/x.yaml": kubesnapObject, "README.md": "# backups\n"})},
	} {
		_, errOut, _ := kubesnap(t, append([]string{"snapshot", "--kubeconfig", kc}, args...)...)
		if !strings.Contains(errOut, "cannot reach the API server") {
			t.Errorf("snapshot into %s = %q, want it to reach for the cluster", name, errOut)
		}
	}
}

func TestLinksInARepositoryAreRefusedByEveryCommand(t *testing.T) {
	kc := unreachable(t)
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "x.yaml"), "precious\n")
	untouched := func(t *testing.T) {
		t.Helper()
		entries, _ := os.ReadDir(out)
		data, _ := os.ReadFile(filepath.Join(out, "x.yaml"))
		if len(entries) != 1 || string(data) != "precious\n" {
			t.Errorf("the folder outside the repository changed: %d entries, x.yaml %q", len(entries), data)
		}
	}

	// In the worktree: a linked folder in a kubesnap repository.
	repo := gitRepo(t, map[string]string{"namespaces/a/configmaps/x.yaml": kubesnapObject})
	if err := os.Symlink(out, filepath.Join(repo, "namespaces/b")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"snapshot"}, {"watch", "--listen", ""}} {
		_, errOut, code := kubesnap(t, append(args, "--repo", repo, "--kubeconfig", kc)...)
		if code != 1 {
			t.Errorf("%s exited %d: %s", args[0], code, errOut)
		}
		oneLine(t, errOut, "namespaces/b in the worktree is a symbolic link", "never follows a link")
	}
	untouched(t)

	// In a revision: a link, then a submodule, committed with git.
	repo = gitRepo(t, map[string]string{"namespaces/a/configmaps/x.yaml": kubesnapObject})
	first := strings.TrimSpace(git(t, repo, "rev-parse", "HEAD"))
	if err := os.Symlink(out, filepath.Join(repo, "namespaces/b")); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "a link")
	git(t, repo, "rm", "--quiet", "namespaces/b")
	git(t, repo, "update-index", "--add", "--cacheinfo", "160000,"+first+",cluster/sub")
	git(t, repo, "-c", "user.name=person", "-c", "user.email=person@example.com", "commit", "--quiet", "-m", "a submodule")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"diff", "--rev", "HEAD~1"}, 2, "namespaces/b in commit"},
		{[]string{"diff"}, 2, "cluster/sub in commit"},
		{[]string{"diff", "--rev", first, "--to", "HEAD"}, 2, "cluster/sub in commit"},
		{[]string{"restore", "--rev", "HEAD~1"}, 1, "namespaces/b in commit"},
		{[]string{"restore", "--rev", "HEAD"}, 1, "cluster/sub in commit"},
		{[]string{"snapshot"}, 1, "cluster/sub in commit"},
	} {
		_, errOut, code := kubesnap(t, append(tt.args, "--repo", repo, "--kubeconfig", kc)...)
		if code != tt.code {
			t.Errorf("%v exited %d: %s", tt.args, code, errOut)
		}
		oneLine(t, errOut, tt.want, "never follows a link")
	}
	untouched(t)
}

func TestDiffAndRestoreRefuseTheSameFiles(t *testing.T) {
	kc := unreachable(t)
	good := "namespaces/a/configmaps/x.yaml"
	for _, tt := range []struct {
		name, path, data, want string
	}{
		{"a file of two documents", good, kubesnapObject + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: y, namespace: a}\n", good + ": holds more than one YAML document"},
		{"an upper-case name", "namespaces/a/configmaps/UPPER.yaml", kubesnapObject, "UPPER.yaml: not canonically escaped"},
		{"a bad escape", "namespaces/a/configmaps/bad%ZZ.yaml", kubesnapObject, "bad%ZZ.yaml: bad name segment"},
		{"a .yml file", "namespaces/a/configmaps/.yml", kubesnapObject, ".yml: file name does not end in .yaml"},
		{"an alias bomb", good, kubesnapObject + "data: {a: &a [x,x,x,x,x,x,x,x,x], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]}\n", "excessive aliasing"},
		{"a 50 MiB file", good, kubesnapObject + "data: {big: " + strings.Repeat("z", 50<<20) + "}\n", "larger than any object the API server stores"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo := gitRepo(t, map[string]string{good: kubesnapObject, ".kubesnap/coverage.yaml": "captured: []\n"})
			before := strings.TrimSpace(git(t, repo, "rev-parse", "HEAD"))
			writeFile(t, filepath.Join(repo, filepath.FromSlash(tt.path)), tt.data)
			commitAll(t, repo, "a hostile file")
			for _, args := range [][]string{
				{"restore", "--rev", "HEAD", "--dry-run"},
				{"diff", "--rev", before, "--to", "HEAD"},
			} {
				out, errOut, code := kubesnap(t, append(args, "--repo", repo, "--kubeconfig", kc)...)
				if code == 0 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "remove the file") {
					t.Errorf("%s = %d %q, want it refused saying %q", args[0], code, errOut, tt.want)
				}
				if out != "" {
					t.Errorf("%s printed %q", args[0], out)
				}
			}
		})
	}
}

func TestBoundaryAgainstACluster(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "c", "--from-literal=v=1")
	scope := []string{"--include-namespaces", ns, "--include-resources", "configmaps"}

	t.Run("live diff refuses what restore refuses", func(t *testing.T) {
		for _, tt := range []struct{ path, data, want string }{
			{"namespaces/" + ns + "/configmaps/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: " + ns + "}\ndata: {v: \"1\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: " + ns + "}\n", "holds more than one YAML document"},
			{"namespaces/" + ns + "/configmaps/UPPER.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: UPPER, namespace: " + ns + "}\n", "UPPER.yaml: not canonically escaped"},
		} {
			repo := t.TempDir()
			mustSnapshot(t, repo, scope...)
			commitFile(t, repo, tt.path, tt.data)
			for _, args := range [][]string{{"diff"}, {"restore", "--rev", "HEAD", "--dry-run"}} {
				out, errOut, code := kubesnap(t, append(append(args, "--repo", repo, "--kubeconfig", env.Kubeconfig), scope...)...)
				if code == 0 || !strings.Contains(errOut, tt.want) || out != "" {
					t.Errorf("%s of %s = %d %q %q, want it refused saying %q", args[0], tt.path, code, out, errOut, tt.want)
				}
			}
		}
	})

	t.Run("a free --path in another repository", func(t *testing.T) {
		repo := gitRepo(t, map[string]string{"README.md": "# app\n", "src/main.go": "package main\n"})
		mustSnapshot(t, repo, append(scope, "--path", "clusters/east")...)
		if got := git(t, repo, "ls-files", "clusters/east/namespaces"); !strings.Contains(got, "clusters/east/namespaces/"+ns+"/configmaps/c.yaml") {
			t.Errorf("files under --path: %q", got)
		}
		if s := git(t, repo, "status", "--porcelain", "--untracked-files=all"); s != "" {
			t.Errorf("git status:\n%s", s)
		}
		out, errOut, code := kubesnap(t, append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)...)
		if code != 2 {
			t.Errorf("diff without --path = %d %q", code, out)
		}
		oneLine(t, errOut, "no kubesnap snapshot at the top", "it holds clusters/east: give --path")
	})

	t.Run("a remote that is not kubesnap's", func(t *testing.T) {
		remote := filepath.Join(t.TempDir(), "remote.git")
		git(t, filepath.Dir(remote), "init", "--quiet", "--bare", "--initial-branch=main", remote)
		other := gitRepo(t, map[string]string{"README.md": "# app\n"})
		git(t, other, "push", "--quiet", remote, "HEAD:main")
		repo := filepath.Join(t.TempDir(), "clone")
		_, errOut, code := kubesnap(t, append([]string{"snapshot", "--repo", repo, "--remote", remote, "--kubeconfig", env.Kubeconfig}, scope...)...)
		if code != 1 {
			t.Errorf("snapshot exited %d", code)
		}
		oneLine(t, errOut, "holds files kubesnap did not write (README.md)")
		if got := strings.TrimSpace(git(t, remote, "rev-list", "--count", "main")); got != "1" {
			t.Errorf("the remote has %s commits, want its one", got)
		}
	})

	t.Run("a link pushed to the remote", func(t *testing.T) {
		remote := filepath.Join(t.TempDir(), "remote.git")
		git(t, filepath.Dir(remote), "init", "--quiet", "--bare", "--initial-branch=main", remote)
		repo := filepath.Join(t.TempDir(), "clone")
		args := append([]string{"snapshot", "--repo", repo, "--remote", remote, "--kubeconfig", env.Kubeconfig}, scope...)
		if _, errOut, code := kubesnap(t, args...); code != 0 {
			t.Fatalf("first snapshot: %s", errOut)
		}
		out := t.TempDir()
		other := filepath.Join(t.TempDir(), "other")
		git(t, filepath.Dir(other), "clone", "--quiet", remote, other)
		link := "namespaces/" + ns + "/configmaps"
		if err := os.RemoveAll(filepath.Join(other, link)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, filepath.Join(other, link)); err != nil {
			t.Fatal(err)
		}
		commitAll(t, other, "a link")
		git(t, other, "push", "--quiet", "origin", "HEAD:main")
		env.Kubectl(t, "", "-n", ns, "create", "configmap", "new", "--from-literal=v=2")
		t.Cleanup(func() { _, _ = env.KubectlErr("", "-n", ns, "delete", "configmap", "new") })
		_, errOut, code := kubesnap(t, args...)
		if code != 1 {
			t.Errorf("snapshot over a remote link exited %d", code)
		}
		oneLine(t, errOut, "pull main from", link+" in commit", "is a symbolic link")
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%d files written outside the repository", len(entries))
		}
	})
}
