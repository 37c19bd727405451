package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGCPacksTheLooseObjectsAndSaysWhat(t *testing.T) {
	repo := gitHistory(t) // git's own commits: every object loose
	out, errOut, code := kubesnap(t, "gc", "--repo", repo, "-o", "json", "--grace", "0s")
	if code != 0 {
		t.Fatalf("gc exited %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("gc -o json printed %q: %v", out, err)
	}
	var keys []string
	for k := range res {
		keys = append(keys, k)
	}
	want := []string{"loosePacked", "packsAfter", "packsBefore", "packsRemoved", "packsRolled", "packsWaiting", "sizeAfter", "sizeBefore"}
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(keys))); diff != "" {
		t.Errorf("json keys (-want +got):\n%s", diff)
	}
	if res["loosePacked"].(float64) == 0 || res["packsAfter"].(float64) != 1 {
		t.Errorf("result %v: want the loose objects in one pack", res)
	}
	if c, err := exec.Command("git", "-C", repo, "count-objects", "-v").CombinedOutput(); err != nil || !strings.Contains(string(c), "count: 0\n") {
		t.Errorf("git count-objects after gc: %s %v; want no loose object", c, err)
	}
	checkRepoSound(t, repo)
	if got := strings.Count(git(t, repo, "log", "--format=%H"), "\n"); got != 4 {
		t.Errorf("git log lists %d commits after gc, want 4", got)
	}
	out, _, code = kubesnap(t, "gc", "--repo", repo)
	if code != 0 || !strings.Contains(out, "nothing done: nothing to gather") {
		t.Errorf("second gc: exit %d, %q; want nothing to gather", code, out)
	}
}

func TestGCRefusesBadInputInOneLine(t *testing.T) {
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a missing repository is named", []string{"--repo", filepath.Join(empty, "nope")}, 1, "does not exist: give --repo"},
		{"an empty folder has no commits", []string{"--repo", empty}, 1, "has no commits yet: run kubesnap snapshot first"},
		{"no --repo is bad usage", nil, 2, "--repo is required"},
		{"a bad output is bad usage", []string{"--repo", empty, "-o", "yaml"}, 2, `bad -o "yaml"`},
		{"a negative grace is bad usage", []string{"--repo", empty, "--grace", "-1s"}, 2, "bad --grace -1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := kubesnap(t, append([]string{"gc"}, c.args...)...)
			if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line with %q", code, errOut, c.code, c.want)
			}
		})
	}
}
