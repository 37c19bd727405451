package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// installed is a folder holding kubesnap under the names make install
// gives it (kubesnap, kubectl-snap, kubectl_complete-snap): this test
// binary, which runs kubesnap's main when asMainEnv is set (TestMain).
func installed(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"kubesnap", pluginBinary, pluginCompletion} {
		if err := linkOrCopy(exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// linkOrCopy hard-links from to to, or copies it across file systems.
func linkOrCopy(from, to string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runAs runs the program at path with args and PATH set to path's
// folder alone, kubesnap's main answering for this test binary.
func runAs(t *testing.T, path string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runWithPath(t, filepath.Dir(path), path, args...)
}

// runWithPath runs prog with args and PATH set to dir alone.
func runWithPath(t *testing.T, dir, prog string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "PATH="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", prog, err)
	}
	return out.String(), errOut.String(), code
}

func TestAsKubectlSnapHelpUsageAndErrorsSayKubectlSnap(t *testing.T) {
	dir := installed(t)
	plugin := filepath.Join(dir, pluginBinary)
	tests := []struct {
		name     string
		args     []string
		code     int
		want     []string
		wantNone []string
	}{
		{"--help", []string{"--help"}, 0, []string{"kubectl snap [command]", `Use "kubectl snap [command] --help"`}, []string{"kubesnap [command]"}},
		{"diff --help", []string{"diff", "--help"}, 0, []string{"Usage:\n  kubectl snap diff --repo DIR"}, []string{"kubesnap diff"}},
		{"history --help, its examples too", []string{"history", "--help"}, 0, []string{"kubectl snap history TYPE/NAMESPACE/NAME --repo DIR", "  kubectl snap history deployments.apps/shop/web --repo backup"}, []string{"kubesnap history"}},
		{"log --help", []string{"log", "--help"}, 0, []string{"kubectl snap log"}, nil},
		{"bad usage", []string{"diff", "stray"}, 2, []string{"kubectl snap: ", "kubectl snap diff takes only flags", "Run 'kubectl snap --help' for usage."}, []string{"kubesnap"}},
		{"an unknown flag", []string{"log", "--colour"}, 2, []string{"kubectl snap: unknown flag: --colour", "Run 'kubectl snap --help' for usage."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runAs(t, plugin, tt.args...)
			all := out + errOut
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(all, w) {
					t.Errorf("output says %q:\n%s", w, all)
				}
			}
		})
	}
	// As kubesnap, it is kubesnap.
	out, _, _ := runAs(t, filepath.Join(dir, "kubesnap"), "diff", "--help")
	if !strings.Contains(out, "Usage:\n  kubesnap diff --repo DIR") {
		t.Errorf("kubesnap diff --help:\n%s", out)
	}
}

func TestKubectlCompleteSnapAnswersKubectlsCompletionRequests(t *testing.T) {
	dir := installed(t)
	repo, commits := completionFixture(t)
	completer := filepath.Join(dir, pluginCompletion)
	// kubectl runs it with the plugin's arguments, the last the word to
	// complete.
	out, errOut, code := runAs(t, completer, "diff", "--repo", repo, "--rev", "")
	want := "main\tbranch\nreview\tbranch\nv1\ttag\n" + commits[0][:12] + "\ttune web\n" + commits[1][:12] + "\tadd web\n" + commits[2][:12] + "\tby hand\n:36\n"
	if code != 0 || out != want {
		t.Errorf("kubectl_complete-snap diff --repo R --rev '': exit %d\n%s\nwant\n%s\nstderr: %s", code, out, want, errOut)
	}
	out, _, code = runAs(t, completer, "di")
	if code != 0 || !strings.HasPrefix(out, "diff\t") || !strings.HasSuffix(out, "\n:4\n") {
		t.Errorf("kubectl_complete-snap di: exit %d\n%s", code, out)
	}
	// A cluster that refuses or never answers: no candidates, and
	// nothing on the process's stderr (which kubectl passes to the
	// terminal) but cobra's note of the directive.
	for _, kc := range []string{unreachable(t), silentServer(t)} {
		out, errOut, code = runAs(t, completer, "diff", "--kubeconfig", kc, "--include-resources", "")
		if code != 0 || out != ":4\n" || strings.TrimSpace(errOut) != "Completion ended with directive: ShellCompDirectiveNoFileComp" {
			t.Errorf("kubectl_complete-snap against a cluster that does not answer: exit %d\n%s\nstderr: %s", code, out, errOut)
		}
	}
	// Run by hand, without arguments: the commands.
	out, _, code = runAs(t, completer)
	for _, c := range []string{"snapshot\t", "restore\t", "completion\t"} {
		if code != 0 || !strings.Contains(out, c) {
			t.Errorf("kubectl_complete-snap alone lacks %q: exit %d\n%s", c, code, out)
		}
	}
}

// kubectl is the kubectl make testbin builds.
func kubectl(t *testing.T) string {
	t.Helper()
	k := testenv.Binary("kubectl")
	if _, err := os.Stat(k); err != nil {
		if testing.Short() && os.Getenv(testenv.RequireEnv) == "" {
			t.Skipf("kubectl not built (%v): make testbin builds it", err)
		}
		t.Fatalf("kubectl not built (%v): run make testbin", err)
	}
	return k
}

func TestKubectlRunsAndCompletesThePlugin(t *testing.T) {
	k := kubectl(t)
	dir := installed(t)
	repo, commits := completionFixture(t)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		// kubectl passes its environment on to the plugin, asMainEnv
		// included.
		return runWithPath(t, dir, k, args...)
	}

	out, errOut, code := run("plugin", "list")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, pluginBinary)) {
		t.Errorf("kubectl plugin list: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, pluginCompletion) {
		t.Errorf("kubectl plugin list takes %s for a plugin:\n%s%s", pluginCompletion, out, errOut)
	}

	for _, args := range [][]string{{"snap", "diff", "--help"}, {"snap", "log", "--help"}} {
		out, errOut, code = run(args...)
		if code != 0 || !strings.Contains(out, "kubectl snap "+args[1]) {
			t.Errorf("kubectl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	out, errOut, code = run("snap", "diff", "stray")
	if code != 2 || !strings.Contains(errOut, "kubectl snap diff takes only flags") {
		t.Errorf("kubectl snap diff stray: exit %d\n%s%s", code, out, errOut)
	}

	// kubectl's own completion hands kubectl snap … to
	// kubectl_complete-snap.
	out, errOut, code = run("__complete", "snap", "diff", "--repo", repo, "--rev", "")
	want := []string{"main\tbranch", "review\tbranch", "v1\ttag", commits[0][:12] + "\ttune web", commits[1][:12] + "\tadd web", commits[2][:12] + "\tby hand", ":36"}
	if got := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kubectl __complete snap diff --repo R --rev '': exit %d\n%s\nwant\n%s\nstderr: %s", code, out, strings.Join(want, "\n"), errOut)
	}
	out, _, code = run("__complete", "snap", "")
	if code != 0 || !strings.Contains(out, "diff\t") || !strings.Contains(out, "history\t") {
		t.Errorf("kubectl __complete snap '': exit %d\n%s", code, out)
	}
	out, _, code = run("__complete", "sn")
	if code != 0 || !strings.Contains(out, "snap\t") {
		t.Errorf("kubectl __complete sn: exit %d\n%s", code, out)
	}
}

func TestCompletionScriptsOfEveryShell(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_kubesnap",
		"zsh":        "#compdef kubesnap",
		"fish":       "complete -c kubesnap",
		"powershell": "Register-ArgumentCompleter",
	} {
		out, errOut, code := kubesnap(t, "completion", shell)
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("kubesnap completion %s: exit %d, lacks %q or __complete: %s", shell, code, want, errOut)
		}
	}
}

// TestBashCompletesThroughTheScript sources kubesnap completion bash in
// a real bash and asks it to complete, as a TAB does.
func TestBashCompletesThroughTheScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed for this test: %v", err)
	}
	dir := installed(t)
	repo, _ := completionFixture(t)
	script, _, code := kubesnap(t, "completion", "bash")
	if code != 0 {
		t.Fatal("kubesnap completion bash failed")
	}
	scriptFile := filepath.Join(t.TempDir(), "kubesnap.bash")
	writeFile(t, scriptFile, script)
	tests := []struct {
		name  string
		words []string
		want  string
	}{
		{"a branch", []string{"kubesnap", "diff", "--repo", repo, "--rev", "rev"}, "review"},
		{"an output format", []string{"kubesnap", "diff", "-o", "mark"}, "markdown"},
		{"an object's namespace", []string{"kubesnap", "history", "--repo", repo, "deployments.apps/"}, "deployments.apps/shop/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := strings.Join(tt.words, " ")
			// The script needs bash-completion's _get_comp_words_by_ref:
			// the package's when installed, else the least of it.
			const tab = `source /usr/share/bash-completion/bash_completion 2>/dev/null
declare -F _get_comp_words_by_ref >/dev/null || _get_comp_words_by_ref() {
	cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
	words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
}
source "$0"
COMP_WORDS=("${@}")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
__start_kubesnap 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", tab, scriptFile}, tt.words...)...)
			cmd.Env = append(os.Environ(), asMainEnv+"=1", "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != tt.want {
				t.Errorf("bash completion of %q: %v\n%q, want %q", line, err, out, tt.want)
			}
		})
	}
}

func TestInvokedAsTellsTheNamesApart(t *testing.T) {
	tests := []struct {
		argv0       string
		args, want  []string
		displayName string
	}{
		{"/usr/local/bin/kubesnap", []string{"log"}, []string{"log"}, "kubesnap"},
		{"kubesnap.exe", []string{"log"}, []string{"log"}, "kubesnap"},
		{"/home/u/.krew/bin/kubectl-snap", []string{"diff", "--help"}, []string{"diff", "--help"}, "kubectl snap"},
		{"kubectl-snap.exe", nil, nil, "kubectl snap"},
		{"./kubectl_complete-snap", []string{"diff", "--rev", ""}, []string{"__complete", "diff", "--rev", ""}, "kubectl snap"},
		{"kubectl_complete-snap.EXE", nil, []string{"__complete", ""}, "kubectl snap"},
		{"kubectl-snapshot", []string{"log"}, []string{"log"}, "kubesnap"},
	}
	for _, tt := range tests {
		root := newRoot(io.Discard, io.Discard)
		got := invokedAs(root, filepath.FromSlash(tt.argv0), tt.args)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || root.DisplayName() != tt.displayName {
			t.Errorf("as %s: args %q, name %q; want %q, %q", tt.argv0, got, root.DisplayName(), tt.want, tt.displayName)
		}
	}
}
