package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// writeFile writes data to p, making its folder.
func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readConfig reads and parses a configuration file that must be valid.
func readConfig(t *testing.T, p string) *config {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig(p, data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeConfig writes a configuration file (apiVersion and kind added)
// and returns its path.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "kubesnap.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: kubesnap.io/v1alpha1\nkind: Config\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigInvalidFilesGetOneLineEachAndExit2(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // one line each, in this order
	}{
		{"unknown field", "repository:\n  dir: r\n  colour: blue\n", []string{
			`kubesnap.yaml:5: repository.colour: unknown field; allowed in repository: dir, branch, path, bare, author`}},
		{"unknown section", "snapshots: {}\n", []string{
			`kubesnap.yaml:3: snapshots: unknown field; allowed: apiVersion, kind, cluster, filters, remote, repository, restore, secrets, watch, normalize`}},
		{"bad path", "normalize:\n  - name: hpa\n    match: {kind: Deployment}\n    ignoreFields: [\"spec..replicas\"]\n", []string{
			`kubesnap.yaml:6: normalize[0] (hpa).ignoreFields[0] "spec..replicas": empty key at offset 5; use a.b, a["b.c"], a[*], a[0] or a JSON pointer /a/b`}},
		{"unknown manager syntax", "normalize:\n  - ignoreManagers: [\"kube-[controller\"]\n", []string{
			`kubesnap.yaml:4: normalize[0].ignoreManagers[0] "kube-[controller": bad glob; use a field manager name (kube-controller-manager) or a glob (hpa-*)`}},
		{"unknown rule field", "normalize:\n  - match: {kind: Deployment}\n    ignoreFeilds: [spec.replicas]\n", []string{
			`kubesnap.yaml:5: normalize[0]: unknown field "ignoreFeilds"; allowed: name, match, ignoreFields, ignoreManagers`}},
		{"every mistake at once", "watch:\n  debounce: 10x\n  logFormat: xml\n  keepSnapshots: -1\nfilters:\n  includeNamespaces: web\nsecrets:\n  mode: hide\nrepository:\n  branch: 12\n", []string{
			`kubesnap.yaml:4: watch.debounce: want a duration such as 30s, 5m or 1h30m`,
			`kubesnap.yaml:5: watch.logFormat: "xml" is not allowed; want one of text, json`,
			`kubesnap.yaml:6: watch.keepSnapshots: want a whole number, 0 or more`,
			`kubesnap.yaml:8: filters.includeNamespaces: want a list of strings`,
			`kubesnap.yaml:10: secrets.mode: "hide" is not allowed; want one of redact, encrypt, skip, plain`,
			`kubesnap.yaml:12: repository.branch: want a string (quote it)`}},
		{"bad schedule", "watch:\n  schedule: every day\n", []string{
			`kubesnap.yaml:4: watch.schedule: schedule "every day": expected exactly 5 fields`}},
		{"bad selector", "filters:\n  selector: \"a in (\"\n", []string{`kubesnap.yaml:4: filters.selector:`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, t.TempDir(), tc.body)
			// A command that does not use the faulty setting still
			// refuses the file: it is checked whole.
			_, errOut, code := kubesnap(t, "rules", "--config", cfg)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if !strings.Contains(lines[0], "kubesnap.yaml:") || !strings.Contains(lines[0], "fix the file and run again") {
				t.Errorf("first line %q does not name the file and what to do", lines[0])
			}
			if got := lines[1:]; len(got) != len(tc.want) {
				t.Fatalf("got %d error lines, want %d:\n%s", len(got), len(tc.want), errOut)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[1+i], w) {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[1+i], w)
				}
			}
		})
	}

	t.Run("not YAML", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "kubesnap.yaml")
		writeFile(t, p, "apiVersion: [\n")
		_, errOut, code := kubesnap(t, "rules", "--config", p)
		if code != 2 || !strings.Contains(errOut, "not YAML") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "kubesnap.yaml")
		writeFile(t, p, "apiVersion: kubesnap.io/v2\nkind: Settings\n")
		_, errOut, code := kubesnap(t, "rules", "--config", p)
		if code != 2 || !strings.Contains(errOut, ":1: apiVersion: want kubesnap.io/v1alpha1") || !strings.Contains(errOut, ":2: kind: want Config") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, errOut, code := kubesnap(t, "rules", "--config", filepath.Join(t.TempDir(), "nope.yaml"))
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		oneLine(t, errOut, "--config", "nope.yaml", "no such file")
	})
}

func TestConfigFlagsOverrideTheFileWhichOverridesDefaults(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	other := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "mine", "--from-literal=a=1")
	env.Kubectl(t, "", "-n", other, "create", "configmap", "theirs", "--from-literal=a=1")
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	// Found beside the repository without --config; the repository, the
	// kubeconfig and the filters come from it, relative paths from the
	// file's folder.
	if err := os.Symlink(env.Kubeconfig, filepath.Join(dir, "kubeconfig")); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "cluster:\n  kubeconfig: kubeconfig\nrepository:\n  dir: repo\n  path: clusters/a\nfilters:\n  includeNamespaces: ["+other+"]\n  includeResources: [configmaps]\n")
	out, errOut, code := kubesnap(t, "snapshot", "--repo", repo, "--include-namespaces", ns, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"objects": 1`) {
		t.Errorf("want only the flag's namespace's ConfigMap: %s", out)
	}
	files := git(t, repo, "ls-files")
	if !strings.Contains(files, "clusters/a/namespaces/"+ns+"/configmaps/mine.yaml") || strings.Contains(files, other) {
		t.Errorf("the flag did not win over the file, or --path did not come from it:\n%s", files)
	}

	// From $XDG_CONFIG_HOME when there is none beside the repository.
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	writeFile(t, filepath.Join(xdg, "kubesnap", "config.yaml"), "apiVersion: kubesnap.io/v1alpha1\nkind: Config\ncluster:\n  kubeconfig: "+env.Kubeconfig+"\nfilters:\n  includeNamespaces: ["+other+"]\n  includeResources: [configmaps]\n")
	repo2 := filepath.Join(t.TempDir(), "repo")
	if _, errOut, code := kubesnap(t, "snapshot", "--repo", repo2); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if files := git(t, repo2, "ls-files"); !strings.Contains(files, "namespaces/"+other+"/configmaps/theirs.yaml") || strings.Contains(files, ns) {
		t.Errorf("the XDG configuration file was not read:\n%s", files)
	}
}

// TestConfigExampleIsValid reads examples/kubesnap.yaml, the commented
// production configuration the README points to.
func TestConfigExampleIsValid(t *testing.T) {
	p := filepath.Join("..", "..", "examples", "kubesnap.yaml")
	cfg := readConfig(t, p)
	if len(cfg.rules) < 5 {
		t.Errorf("the example has %d rules; it should show HPA, cert-manager and mesh rules", len(cfg.rules))
	}
	out, errOut, code := kubesnap(t, "rules", "--config", p)
	if code != 0 || !strings.Contains(out, "hpa-owns-replicas") {
		t.Errorf("rules --config %s: exit %d: %s", p, code, errOut)
	}
}

// TestConfigValuesReachTheirFlags: a bool, a duration, a list, a number
// and a relative path from the file arrive in the flags as written.
func TestConfigValuesReachTheirFlags(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, `repository: {dir: ./state, bare: true}
remote: {url: ../remote.git}
watch: {debounce: 7s, leaderElect: true}
filters: {excludeNamespaces: [a, "b,c"]}
restore: {qps: 12.5, workers: 3}
`)
	cfg := readConfig(t, p)
	for _, cmd := range []*cobra.Command{newWatch(io.Discard), newRestore(io.Discard, io.Discard)} {
		if err := cfg.apply(cmd.Flags()); err != nil {
			t.Fatal(err)
		}
		fs := cmd.Flags()
		want := map[string]string{"repo": filepath.Join(dir, "state"), "exclude-namespaces": `[a,"b,c"]`}
		if cmd.Name() == "watch" {
			want["bare"], want["debounce"], want["leader-elect"], want["remote"] = "true", "7s", "true", filepath.Join(filepath.Dir(dir), "remote.git")
		} else {
			want["qps"], want["workers"] = "12.5", "3"
		}
		for name, w := range want {
			if got := fs.Lookup(name).Value.String(); got != w {
				t.Errorf("%s --%s = %q, want %q", cmd.Name(), name, got, w)
			}
		}
		if ex, _ := fs.GetStringSlice("exclude-namespaces"); len(ex) != 2 || ex[1] != "b,c" {
			t.Errorf("%s --exclude-namespaces = %q: a value with a comma was split", cmd.Name(), ex)
		}
	}
	// A flag given on the command line is left alone.
	cmd := newWatch(io.Discard)
	if err := cmd.Flags().Parse([]string{"--debounce", "1s"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.apply(cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("debounce").Value.String(); got != "1s" {
		t.Errorf("--debounce = %s, want the command line's 1s", got)
	}
	// Numbers that must be positive.
	for _, body := range []string{"restore: {workers: 0}\n", "restore: {qps: .nan}\n", "restore: {qps: 0}\n"} {
		if _, err := parseConfig("k.yaml", []byte("apiVersion: kubesnap.io/v1alpha1\nkind: Config\n"+body)); err == nil || !strings.Contains(err.Error(), "k.yaml:3: restore.") {
			t.Errorf("%q: %v, want a line naming the field", body, err)
		}
	}
}
