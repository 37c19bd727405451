package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
)

// completed is what kubesnap __complete printed: one line per candidate
// (its value, then a tab and its description when it has one), and the
// directive.
type completed struct {
	lines     []string
	directive cobra.ShellCompDirective
}

// values are the candidates without their descriptions.
func (c completed) values() []string {
	var out []string
	for _, l := range c.lines {
		v, _, _ := strings.Cut(l, "\t")
		out = append(out, v)
	}
	return out
}

// complete runs kubesnap __complete args (the last one the word being
// completed) as a shell's completion script does, and fails t unless it
// exits 0 and prints nothing on stderr but cobra's note of the
// directive: a completion never prints an error.
func complete(t *testing.T, args ...string) completed {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q exited %d: %s", args, code, errOut)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(l, "Completion ended with directive: ") {
			t.Errorf("__complete %q printed on stderr: %q", args, l)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	d, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: no directive at the end of %q", args, out)
	}
	c := completed{directive: cobra.ShellCompDirective(d)}
	if len(lines) > 1 {
		c.lines = lines[:len(lines)-1]
	}
	return c
}

// checkCompleted fails t unless got has the lines and the directive
// wanted.
func checkCompleted(t *testing.T, got completed, lines []string, directive cobra.ShellCompDirective) {
	t.Helper()
	if d := cmp.Diff(lines, got.lines); d != "" {
		t.Errorf("completions (-want +got)\n%s", d)
	}
	if got.directive != directive {
		t.Errorf("directive %d, want %d", got.directive, directive)
	}
}

const (
	noFiles    = cobra.ShellCompDirectiveNoFileComp
	inOrder    = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	typingMore = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
)

// storedObject is an object's file as kubesnap writes it.
func storedObject(apiVersion, kind, namespace, name string) string {
	meta := "  name: " + strconv.Quote(name) + "\n"
	if namespace != "" {
		meta += "  namespace: " + namespace + "\n"
	}
	return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n" + meta
}

// completionFixture is a repository git wrote, as kubesnap lays it out:
// three commits on main ("by hand", "add web", "tune web"), a branch
// review at the second and a tag v1 at the first. It returns its folder
// and the commits, newest first.
func completionFixture(t *testing.T) (string, []string) {
	t.Helper()
	role := canonical.ID{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "system:basic-user"}
	dir := gitRepo(t, map[string]string{
		"namespaces/shop/configmaps/settings.yaml": storedObject("v1", "ConfigMap", "shop", "settings"),
		"cluster/namespaces/shop.yaml":             storedObject("v1", "Namespace", "", "shop"),
		canonical.PathOf(role):                     storedObject("rbac.authorization.k8s.io/v1", "ClusterRole", "", role.Name),
	})
	first := revParse(t, dir, "HEAD")
	second := gitCommit(t, dir, "add web", map[string]string{
		"namespaces/shop/deployments.apps/web.yaml": storedObject("apps/v1", "Deployment", "shop", "web"),
		"namespaces/other/configmaps/x.yaml":        storedObject("v1", "ConfigMap", "other", "x"),
		"cluster/namespaces/other.yaml":             storedObject("v1", "Namespace", "", "other"),
	})
	third := gitCommit(t, dir, "tune web\n\nreplicas: 3", map[string]string{
		"namespaces/shop/deployments.apps/web.yaml": storedObject("apps/v1", "Deployment", "shop", "web") + "spec: {replicas: 3}\n",
	})
	git(t, dir, "branch", "review", second)
	git(t, dir, "tag", "v1", first)
	return dir, []string{third, second, first}
}

func TestCompletionOfRevisions(t *testing.T) {
	repo, commits := completionFixture(t)
	all := []string{
		"main\tbranch", "review\tbranch", "v1\ttag",
		commits[0][:12] + "\ttune web", commits[1][:12] + "\tadd web", commits[2][:12] + "\tby hand",
	}
	cfg := writeConfig(t, t.TempDir(), "repository:\n  dir: "+repo+"\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"diff --rev: branches, tags, then the newest commits with their subject", []string{"diff", "--repo", repo, "--rev", ""}, all},
		{"diff --to", []string{"diff", "--repo", repo, "--to", ""}, all},
		{"restore --rev", []string{"restore", "--repo", repo, "--rev", ""}, all},
		{"blame --rev", []string{"blame", "--repo", repo, "--rev", ""}, all},
		{"snapshot --base", []string{"snapshot", "--repo", repo, "--base", ""}, all},
		{"show's REV", []string{"show", "--repo", repo, ""}, all},
		{"--repo=DIR --rev=", []string{"diff", "--repo=" + repo, "--rev", ""}, all},
		{"only what starts with the word typed", []string{"diff", "--repo", repo, "--rev", "v"}, []string{"v1\ttag"}},
		{"a commit by its first digits", []string{"diff", "--repo", repo, "--rev", commits[1][:5]}, []string{commits[1][:12] + "\tadd web"}},
		{"--repo from the configuration file", []string{"diff", "--config", cfg, "--rev", ""}, all},
		{"--branch: the local branches", []string{"log", "--repo", repo, "--branch", ""}, []string{"main\tbranch", "review\tbranch"}},
		{"--branch of history", []string{"history", "--repo", repo, "--branch", "r"}, []string{"review\tbranch"}},
		{"--branch of snapshot", []string{"snapshot", "--repo", repo, "--branch", ""}, []string{"main\tbranch", "review\tbranch"}},
		{"--branch of watch", []string{"watch", "--repo", repo, "--branch", ""}, []string{"main\tbranch", "review\tbranch"}},
		{"the commits of --branch", []string{"blame", "--repo", repo, "--branch", "review", "--rev", commits[2][:1]}, filterPrefix([]string{commits[1][:12] + "\tadd web", commits[2][:12] + "\tby hand"}, commits[2][:1])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCompleted(t, complete(t, tt.args...), tt.want, inOrder)
		})
	}
}

// filterPrefix keeps the lines that start with p.
func filterPrefix(lines []string, p string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			out = append(out, l)
		}
	}
	return out
}

func TestCompletionOfRevisionsIsQuietWithoutARepository(t *testing.T) {
	t.Setenv("KUBECONFIG", unreachable(t))
	dir := t.TempDir()
	notRepo := gitRepo(t, nil)
	writeFile(t, notRepo+"/x/file", "x")
	empty := gitRepo(t, nil)
	file := dir + "/file"
	writeFile(t, file, "x")
	repo, _ := completionFixture(t)
	tests := []struct {
		name string
		args []string
	}{
		{"no --repo", []string{"diff", "--rev", ""}},
		{"a --repo that does not exist", []string{"diff", "--repo", dir + "/missing", "--rev", ""}},
		{"a --repo that is a file", []string{"restore", "--repo", file, "--rev", ""}},
		{"an empty repository", []string{"diff", "--repo", empty, "--rev", ""}},
		{"a --path git keeps for itself", []string{"diff", "--repo", repo, "--path", ".git", "--rev", ""}},
		{"a broken configuration file", []string{"diff", "--config", writeConfig(t, dir, "repository: [\n"), "--rev", ""}},
		{"show's object after a REV not there", []string{"show", "--repo", repo, "no-such-rev", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := complete(t, tt.args...)
			if len(got.lines) != 0 {
				t.Errorf("completions %q, want none", got.lines)
			}
			if got.directive&cobra.ShellCompDirectiveNoFileComp == 0 {
				t.Errorf("directive %d offers files", got.directive)
			}
		})
	}
	// A folder with files that is no repository: none either.
	if got := complete(t, "diff", "--repo", notRepo+"/x", "--rev", ""); len(got.lines) != 0 {
		t.Errorf("a folder that is no repository: completions %q", got.lines)
	}
}

func TestCompletionOfFixedValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"diff -o", []string{"diff", "-o", ""}, []string{"text", "json", "markdown"}},
		{"diff --output", []string{"diff", "--output", "m"}, []string{"markdown"}},
		{"show -o", []string{"show", "-o", ""}, []string{"yaml", "json"}},
		{"log -o", []string{"log", "-o", ""}, []string{"text", "json"}},
		{"gc -o", []string{"gc", "-o", ""}, []string{"text", "json"}},
		{"history -o", []string{"history", "-o", ""}, []string{"text", "json"}},
		{"blame -o", []string{"blame", "-o", ""}, []string{"text", "json"}},
		{"restore -o", []string{"restore", "-o", ""}, []string{"text", "json"}},
		{"snapshot -o", []string{"snapshot", "-o", ""}, []string{"text", "json"}},
		{"rules -o", []string{"rules", "-o", ""}, []string{"text", "json"}},
		{"watch --log-format", []string{"watch", "--log-format", ""}, []string{"text", "json"}},
		{"snapshot --secrets", []string{"snapshot", "--secrets", ""}, []string{"redact", "encrypt", "skip", "plain"}},
		{"diff --secrets", []string{"diff", "--secrets", "e"}, []string{"encrypt"}},
		{"no file for diff's arguments", []string{"diff", ""}, nil},
		{"no file for log's arguments", []string{"log", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCompleted(t, complete(t, tt.args...), tt.want, noFiles)
		})
	}
}

// TestOutputFormatsCompletedAreTheOnesTaken runs each command with each
// -o value completion offers, and with one it does not: the first must
// never be refused as a bad -o, the second always.
func TestOutputFormatsCompletedAreTheOnesTaken(t *testing.T) {
	repo, _ := completionFixture(t)
	kc := unreachable(t)
	for _, command := range []string{"diff", "show", "log", "gc", "history", "blame", "restore", "snapshot", "rules"} {
		args := []string{command, "--repo", repo}
		switch command {
		case "show":
			args = append(args, "HEAD", "configmaps/shop/settings")
		case "history", "blame":
			args = append(args, "configmaps/shop/settings")
		case "restore":
			args = append(args, "--rev", "HEAD")
		}
		if command == "diff" || command == "restore" || command == "snapshot" || command == "rules" {
			args = append(args, "--kubeconfig", kc)
		}
		for _, o := range append(complete(t, command, "-o", "").values(), "xml") {
			_, errOut, _ := kubesnap(t, append(args, "-o", o)...)
			if refused := strings.Contains(errOut, "bad -o"); refused != (o == "xml") {
				t.Errorf("%s -o %s: refused %v: %s", command, o, refused, errOut)
			}
		}
	}
}

func TestCompletionOfStoredObjects(t *testing.T) {
	t.Setenv("KUBECONFIG", unreachable(t)) // no cluster to fall back to
	repo, _ := completionFixture(t)
	hostile := gitRepo(t, map[string]string{
		"namespaces/shop/configmaps/%1B%5B31mred.yaml": storedObject("v1", "ConfigMap", "shop", "\x1b[31mred"),
		"namespaces/shop/configmaps/plain.yaml":        storedObject("v1", "ConfigMap", "shop", "plain"),
	})
	prefixed := gitRepo(t, map[string]string{
		"clusters/a/namespaces/shop/configmaps/settings.yaml": storedObject("v1", "ConfigMap", "shop", "settings"),
		"clusters/b/namespaces/web/secrets/token.yaml":        storedObject("v1", "Secret", "web", "token"),
	})
	tests := []struct {
		name      string
		args      []string
		want      []string
		directive cobra.ShellCompDirective
	}{
		{"the types, each with a / to go on", []string{"history", "--repo", repo, ""}, []string{"clusterroles.rbac.authorization.k8s.io/", "configmaps/", "deployments.apps/", "namespaces/"}, typingMore},
		{"a type by its first letters", []string{"history", "--repo", repo, "dep"}, []string{"deployments.apps/"}, typingMore},
		{"the namespaces holding the type", []string{"history", "--repo", repo, "configmaps/"}, []string{"configmaps/other/", "configmaps/shop/"}, typingMore},
		{"only those holding it", []string{"history", "--repo", repo, "deployments.apps/"}, []string{"deployments.apps/shop/"}, typingMore},
		{"a type named by its kind", []string{"history", "--repo", repo, "Deployment/"}, []string{"Deployment/shop/"}, typingMore},
		{"a type named by its resource", []string{"history", "--repo", repo, "deployments/s"}, []string{"deployments/shop/"}, typingMore},
		{"the names in the namespace", []string{"history", "--repo", repo, "configmaps/shop/"}, []string{"configmaps/shop/settings"}, noFiles},
		{"a cluster-scoped type's names", []string{"history", "--repo", repo, "namespaces/"}, []string{"namespaces/other", "namespaces/shop"}, noFiles},
		{"names as the objects have them, unescaped", []string{"blame", "--repo", repo, "clusterroles.rbac.authorization.k8s.io/"}, []string{"clusterroles.rbac.authorization.k8s.io/system:basic-user"}, noFiles},
		{"no namespace for a cluster-scoped type", []string{"history", "--repo", repo, "namespaces/shop/"}, nil, noFiles},
		{"a type the repository does not hold", []string{"history", "--repo", repo, "secrets/"}, nil, noFiles},
		{"one object only", []string{"history", "--repo", repo, "configmaps/shop/settings", ""}, nil, noFiles},
		{"show: the object at REV", []string{"show", "--repo", repo, "v1", ""}, []string{"clusterroles.rbac.authorization.k8s.io/", "configmaps/", "namespaces/"}, typingMore},
		{"show: the object at an older REV", []string{"show", "--repo", repo, "HEAD~2", "configmaps/"}, []string{"configmaps/shop/"}, typingMore},
		{"show --at: the object at that time", []string{"show", "--repo", repo, "--at", "2999-01-01", "deployments.apps/shop/"}, []string{"deployments.apps/shop/web"}, noFiles},
		{"show --at before the first commit", []string{"show", "--repo", repo, "--at", "2000-01-01", ""}, nil, noFiles},
		{"show: nothing after the object", []string{"show", "--repo", repo, "HEAD", "configmaps/shop/settings", ""}, nil, noFiles},
		{"blame: the object at --rev", []string{"blame", "--repo", repo, "--rev", "v1", "deployments.apps/"}, nil, noFiles},
		{"blame at the head", []string{"blame", "--repo", repo, "deployments.apps/shop/"}, []string{"deployments.apps/shop/web"}, noFiles},
		{"history of --branch", []string{"history", "--repo", repo, "--branch", "review", "deployments.apps/shop/"}, []string{"deployments.apps/shop/web"}, noFiles},
		{"under --path", []string{"history", "--repo", prefixed, "--path", "clusters/b", ""}, []string{"secrets/"}, typingMore},
		{"a name a terminal would run is left out", []string{"history", "--repo", hostile, "configmaps/shop/"}, []string{"configmaps/shop/plain"}, noFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCompleted(t, complete(t, tt.args...), tt.want, tt.directive)
		})
	}
}

// TestCompletedObjectsAreTheOnesFound runs history with each object
// completion leads to, one part at a time: each must name an object the
// command finds.
func TestCompletedObjectsAreTheOnesFound(t *testing.T) {
	t.Setenv("KUBECONFIG", unreachable(t))
	repo, _ := completionFixture(t)
	var objects []string
	var walk func(word string)
	walk = func(word string) {
		got := complete(t, "history", "--repo", repo, word)
		for _, v := range got.values() {
			if got.directive&cobra.ShellCompDirectiveNoSpace != 0 {
				walk(v)
			} else {
				objects = append(objects, v)
			}
		}
	}
	walk("")
	if len(objects) != 6 {
		t.Errorf("completion leads to %d objects, want the fixture's 6: %q", len(objects), objects)
	}
	for _, o := range objects {
		if _, errOut, code := kubesnap(t, "history", "--repo", repo, o); code != 0 {
			t.Errorf("history %s, an object completion offered: exit %d: %s", o, code, errOut)
		}
	}
}

func TestCompletionOfStoredObjectsIsQuietOnALink(t *testing.T) {
	t.Setenv("KUBECONFIG", unreachable(t)) // no cluster to fall back to
	dir := gitRepo(t, nil)
	writeFile(t, filepath.Join(dir, "elsewhere", "configmaps", "x.yaml"), storedObject("v1", "ConfigMap", "shop", "x"))
	if err := os.MkdirAll(filepath.Join(dir, "namespaces"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../elsewhere", filepath.Join(dir, "namespaces", "shop")); err != nil {
		t.Fatal(err)
	}
	commitAll(t, dir, "a link")
	for _, word := range []string{"", "configmaps/", "configmaps/shop/"} {
		got := complete(t, "history", "--repo", dir, word)
		if len(got.lines) != 0 {
			t.Errorf("%q through a link: completions %q, want none", word, got.lines)
		}
	}
}
