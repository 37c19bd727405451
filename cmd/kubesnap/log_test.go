package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitHistory writes a repository with git itself: two clusters under
// clusters/a and clusters/b, one commit a day from 2026-12-01, the older
// ones with a subject alone (as an older kubesnap or a person wrote them),
// the newer with kubesnap's trailers.
func gitHistory(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run := func(date string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t",
			"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("", "init", "-q", "-b", "main")
	steps := []struct {
		date, file, msg string
	}{
		{"2026-12-01T10:00:00Z", "clusters/a/namespaces/x/configmaps/one.yaml", "a one"},
		{"2026-12-02T10:00:00Z", "clusters/b/namespaces/y/configmaps/one.yaml", "b one"},
		{"2026-12-03T10:00:00Z", "clusters/a/namespaces/x/configmaps/two.yaml", "a two\n\nKubesnap-Objects: 2\nKubesnap-Changed: 1\nKubesnap-Path: clusters/a"},
		{"2026-12-04T10:00:00Z", "clusters/b/namespaces/y/configmaps/two.yaml", "b two\n\nKubesnap-Objects: 2\nKubesnap-Changed: 1\nKubesnap-Path: clusters/b"},
	}
	for _, s := range steps {
		p := filepath.Join(dir, s.file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("data: "+s.msg+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(s.date, "add", "-A")
		run(s.date, "commit", "-qm", s.msg)
	}
	return dir
}

func TestLogPagesAndListsOneClusterOfMany(t *testing.T) {
	repo := gitHistory(t)
	summaries := func(args ...string) []string {
		t.Helper()
		out, errOut, code := kubesnap(t, append([]string{"log", "--repo", repo, "-o", "json"}, args...)...)
		var entries []struct {
			Summary string
			Changed int `json:"objectsChanged"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &entries) != nil {
			t.Fatalf("log %v = %d %s%s", args, code, out, errOut)
		}
		got := []string{}
		for _, e := range entries {
			if e.Changed != 1 {
				t.Errorf("log %v: %q changed %d objects, want 1", args, e.Summary, e.Changed)
			}
			got = append(got, e.Summary)
		}
		return got
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "b two, a two, b one, a one"},
		{[]string{"--path", "clusters/a"}, "a two, a one"},
		{[]string{"--path", "clusters/b/"}, "b two, b one"},
		{[]string{"--path", "clusters/c"}, ""},
		{[]string{"--limit", "3"}, "b two, a two, b one"},
		{[]string{"--path", "clusters/a", "--limit", "1"}, "a two"},
		{[]string{"--since", "2026-12-02", "--until", "2026-12-03"}, "a two, b one"},
		{[]string{"--since", "2026-12-02T10:00:01Z"}, "b two, a two"},
		{[]string{"--until", "2026-12-02T10:00:00+00:00", "--path", "clusters/b"}, "b one"},
	} {
		if got := strings.Join(summaries(tt.args...), ", "); got != tt.want {
			t.Errorf("log %v listed %q, want %q", tt.args, got, tt.want)
		}
	}

	out, errOut, code := kubesnap(t, "log", "--repo", repo, "--path", "clusters/a")
	want := "COMMIT        TIME                  CHANGED  SUMMARY\n"
	if code != 0 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 3 || !strings.Contains(out, "  2026-12-03 10:00:00Z  1        a two\n") {
		t.Errorf("log --path clusters/a = %d %s\n%s", code, errOut, out)
	}
}

func TestLogRefusesABadTime(t *testing.T) {
	repo := gitHistory(t)
	for _, args := range [][]string{{"--since", "yesterday"}, {"--until", "2026-13-01"}, {"--limit", "-1"}} {
		out, errOut, code := kubesnap(t, append([]string{"log", "--repo", repo}, args...)...)
		if code != 2 || out != "" {
			t.Errorf("log %v = exit %d, output %q; want exit 2 and no output", args, code, out)
		}
		oneLine(t, errOut, "bad "+args[0])
	}
}
