package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionPrintsTextAndJSON(t *testing.T) {
	info, _ := debug.ReadBuildInfo()
	want := describeBuild(version, revision, info)

	out, errOut, code := kubesnap(t, "version")
	if code != 0 {
		t.Fatalf("version exited %d: %s", code, errOut)
	}
	wantText := "version:  " + want.Version + "\ncommit:   " + want.Commit + "\ngo:       " + runtime.Version() + "\nplatform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if diff := cmp.Diff(wantText, out); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}

	out, errOut, code = kubesnap(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("version -o json exited %d: %s", code, errOut)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	wantJSON := map[string]string{"version": want.Version, "commit": want.Commit, "goVersion": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
	if diff := cmp.Diff(wantJSON, got); diff != "" {
		t.Errorf("version -o json (-want +got):\n%s", diff)
	}
}

func TestVersionRefusesBadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"version", "-o", "yaml"}, `bad -o "yaml": use one of text, json`},
		{[]string{"version", "now"}, "kubesnap version takes only flags"},
	} {
		_, errOut, code := kubesnap(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// version reads no configuration: a broken file, given or found, does not
// stop it.
func TestVersionIgnoresABrokenConfigFile(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("snapshot: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := kubesnap(t, "log", "--config", broken, "--repo", dir); code == 0 || !strings.Contains(errOut, "broken.yaml") {
		t.Fatalf("the broken file is not refused by log (exit %d: %s): the test tests nothing", code, errOut)
	}
	if out, errOut, code := kubesnap(t, "version", "--config", broken); code != 0 || !strings.HasPrefix(out, "version:") {
		t.Errorf("version --config broken.yaml: exit %d, %q %q", code, out, errOut)
	}
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "kubesnap"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(xdg, "kubesnap", "config.yaml"), []byte("snapshot: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if out, errOut, code := kubesnap(t, "version", "-o", "json"); code != 0 || !strings.Contains(out, `"version"`) {
		t.Errorf("version with a broken $XDG_CONFIG_HOME/kubesnap/config.yaml: exit %d, %q %q", code, out, errOut)
	}
}

func TestDescribeBuild(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(revision, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: revision}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		name               string
		ldVersion, ldCommt string
		info               *debug.BuildInfo
		wantVersion, wantC string
	}{
		{"link-time values come first", "v1.2.0", "abc123", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("fff", "true")}, "v1.2.0", "abc123"},
		{"go install @version gives the module's version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0", "unknown"},
		{"a build in a clone gives its commit", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abc", "false")}, "dev", "0123abc"},
		{"a clone with changes is dirty", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abc", "true")}, "dev", "0123abc-dirty"},
		{"without build information", "", "", nil, "dev", "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := describeBuild(c.ldVersion, c.ldCommt, c.info)
			want := buildInfo{Version: c.wantVersion, Commit: c.wantC, GoVersion: runtime.Version(), Platform: platform}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
