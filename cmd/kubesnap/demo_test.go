package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make demo replaces its repository on every run; a DEMO_REPO that is
// not a kubesnap repository (a home folder, a project) is refused before
// anything starts, and left as it was.
func TestDemoRefusesToReplaceAFolderItDidNotMake(t *testing.T) {
	for name, setup := range map[string]func(dir string) error{
		"a folder":       func(dir string) error { return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600) },
		"a git checkout": func(dir string) error { return os.MkdirAll(filepath.Join(dir, ".git"), 0o700) },
		"a file":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			if setup == nil {
				if err := os.WriteFile(repo, []byte("mine"), 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.Mkdir(repo, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := setup(repo); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", "../../examples/demo.sh")
			cmd.Env = append(os.Environ(), "KUBECTL=/bin/false", "DEMO_REPO="+repo)
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), "is not a kubesnap repository") {
				t.Fatalf("demo with DEMO_REPO %s: exit %d, %v:\n%s", name, code, err, out)
			}
			if _, err := os.Stat(repo); err != nil {
				t.Errorf("the demo removed %s: %v", name, err)
			}
		})
	}
}
