package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/sops"
)

// The values of the Secret objectHistory stores: no output may hold
// them, as they are or in base64.
const (
	secretOld = "hunter2-old-password"
	secretNew = "correct-horse-battery"
)

func deployment(image string, replicas int, extra string) string {
	return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n%sspec:\n  replicas: %d\n  template:\n    spec:\n      containers:\n      - image: %s\n        name: web\n", extra, replicas, image)
}

func secretFile(value string) string {
	return "apiVersion: v1\ndata:\n  password: " + b64(value) + "\n  user: " + b64("admin-user") + "\nkind: Secret\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"" + b64(value) + "\"}}'\n  name: db\n  namespace: shop\ntype: Opaque\n"
}

func ingress(api string) string {
	return "apiVersion: " + api + "\nkind: Ingress\nmetadata:\n  name: front\n  namespace: shop\nspec:\n  rules:\n  - host: shop.example\n"
}

// historyStep is one commit of objectHistory: files written (a nil
// content removes the file), by whom, with what message.
type historyStep struct {
	author, msg string
	files       map[string]*string
}

func str(s string) *string { return &s }

const (
	webPath      = "namespaces/shop/deployments.apps/web.yaml"
	secretPath   = "namespaces/shop/secrets/db.yaml"
	settingsPath = "namespaces/shop/configmaps/settings.yaml"
	oldIngress   = "namespaces/shop/ingresses.extensions/front.yaml"
	newIngress   = "namespaces/shop/ingresses.networking.k8s.io/front.yaml"
)

var historyT0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// objectHistory writes, with git itself, a repository as kubesnap's
// versions wrote it, one commit an hour from historyT0: the first ones
// as an older kubesnap did (author kubesnap, managers only in the
// message, no trailers), later ones with a user as the author and
// trailers. It returns the folder and the commit ids, oldest first.
func objectHistory(t *testing.T) (string, []string) {
	t.Helper()
	return objectHistoryUnder(t, "")
}

// objectHistoryUnder is objectHistory with every file under the folder
// prefix, as snapshot --path writes it.
func objectHistoryUnder(t *testing.T, prefix string) (string, []string) {
	t.Helper()
	steps := []historyStep{
		{"kubesnap", "Add 4 objects in shop\n\nshop: 4 added\n\nA " + webPath + " (kubectl-client-side-apply)\nA " + secretPath + "\n", map[string]*string{
			webPath: str(deployment("web:1", 1, "")), secretPath: str(secretFile(secretOld)),
			settingsPath: str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n"),
			oldIngress:   str(ingress("extensions/v1beta1")),
		}},
		{"alice", "Update 1 object in shop: deployments.apps/web (kubectl-edit)\n\nM " + webPath + " (kubectl-edit)\n\nKubesnap-Changed: 1\n", map[string]*string{webPath: str(deployment("web:2", 1, ""))}},
		{"bob", "Update 1 object in shop\n\nM " + settingsPath + "\n", map[string]*string{settingsPath: str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  a: b\n")}},
		{"kubesnap", "Update 2 objects in shop\n", map[string]*string{oldIngress: nil, newIngress: str(ingress("networking.k8s.io/v1"))}},
		{"alice", "Delete 1 object in shop\n\nD " + webPath + "\n", map[string]*string{webPath: nil}},
		{"bob", "Add 1 object in shop\n\nA " + webPath + " (helm)\n", map[string]*string{webPath: str(deployment("web:3", 1, ""))}},
		{"carol", "Update 1 object in shop\n\nM " + secretPath + " (kubectl-edit)\n", map[string]*string{secretPath: str(secretFile(secretNew))}},
		{"alice", "Update 1 object in shop\n\nM " + webPath + " (kubectl-edit)\n", map[string]*string{webPath: str(deployment("web:4", 2, "  labels:\n    app: web\n    tier: front\n"))}},
	}
	dir := t.TempDir()
	var ids []string
	gitAs(t, dir, "", time.Time{}, "init", "-q", "-b", "main")
	for i, s := range steps {
		when := historyT0.Add(time.Duration(i) * time.Hour)
		for p, content := range s.files {
			if prefix != "" {
				p = prefix + "/" + p
			}
			full := filepath.Join(dir, p)
			if content == nil {
				gitAs(t, dir, "", when, "rm", "-q", p)
				continue
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(*content), 0o644); err != nil {
				t.Fatal(err)
			}
			gitAs(t, dir, "", when, "add", p)
		}
		msg := s.msg
		if prefix != "" {
			msg = strings.ReplaceAll(msg, " namespaces/", " "+prefix+"/namespaces/")
		}
		gitAs(t, dir, s.author, when, "commit", "-q", "-m", msg)
		ids = append(ids, strings.TrimSpace(gitAs(t, dir, "", when, "rev-parse", "HEAD")))
	}
	return dir, ids
}

// gitAs runs git in dir as author, at when.
func gitAs(t *testing.T, dir, author string, when time.Time, args ...string) string {
	t.Helper()
	if author == "" {
		author = "kubesnap"
	}
	date := when.Format(time.RFC3339)
	if when.IsZero() {
		date = historyT0.Format(time.RFC3339)
	}
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL="+author+"@example.invalid",
		"GIT_COMMITTER_NAME=kubesnap", "GIT_COMMITTER_EMAIL=kubesnap@example.invalid", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// noSecretValue fails when out holds a value of objectHistory's Secret.
func noSecretValue(t *testing.T, what, out string) {
	t.Helper()
	for _, v := range []string{secretOld, secretNew, b64(secretOld), b64(secretNew), b64("admin-user"), "admin-user"} {
		if strings.Contains(out, v) {
			t.Fatalf("%s shows a Secret value (%q):\n%s", what, v, out)
		}
	}
}

type historyJSON struct {
	Commit, Time, Author, Manager, Change, Path, From, What, Diff string
	Fields                                                        []string
}

func historyOf(t *testing.T, repo string, args ...string) []historyJSON {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{"history", "--repo", repo, "-o", "json"}, args...)...)
	var entries []historyJSON
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil {
		t.Fatalf("history %v = %d %s%s", args, code, out, errOut)
	}
	noSecretValue(t, "history", out)
	return entries
}

func whats(entries []historyJSON) []string {
	var out []string
	for _, e := range entries {
		who := e.Author
		if e.Manager != "" {
			who += " (" + e.Manager + ")"
		}
		out = append(out, who+": "+e.What)
	}
	return out
}

func TestHistoryFollowsDeletionAndRecreation(t *testing.T) {
	repo, ids := objectHistory(t)
	got := whats(historyOf(t, repo, "deployments.apps/shop/web"))
	want := []string{
		"alice (kubectl-edit): changed metadata.labels, spec.replicas, spec.template.spec.containers[0].image",
		"bob (helm): created",
		"alice: deleted",
		"alice (kubectl-edit): changed spec.template.spec.containers[0].image",
		"kubesnap (kubectl-client-side-apply): created",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The table: one line a change, the commit and time first.
	out, errOut, code := kubesnap(t, "history", "deployment/shop/web", "--repo", repo)
	if code != 0 {
		t.Fatalf("history = %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "COMMIT") || !strings.HasPrefix(lines[1], ids[7][:12]+"  2026-12-01 07:00:00Z  alice (kubectl-edit)") {
		t.Errorf("history table:\n%s", out)
	}
}

func TestHistoryUnderAPath(t *testing.T) {
	repo, ids := objectHistoryUnder(t, "clusters/a")
	got := historyOf(t, repo, "deployments.apps/shop/web", "--path", "clusters/a", "--limit", "1")
	if len(got) != 1 || got[0].Commit != ids[7] || got[0].Manager != "kubectl-edit" || got[0].Path != webPath {
		t.Errorf("history --path = %+v", got)
	}
	out, errOut, code := kubesnap(t, "show", "HEAD~1", "secrets/shop/db", "--repo", repo, "--path", "clusters/a")
	if code != 0 || !strings.Contains(out, "name: db") {
		t.Errorf("show --path = %d %s%s", code, out, errOut)
	}
	noSecretValue(t, "show --path", out)
	_, errOut, code = kubesnap(t, "history", "deployments/shop/web", "--repo", repo)
	if code != 2 {
		t.Errorf("history without --path = %d %s", code, errOut)
	}
	oneLine(t, errOut, `no type "deployments"`)
}

func TestHistoryOfManyFieldsSaysHowManyMore(t *testing.T) {
	repo, _ := objectHistory(t)
	// Five fields changed by the last commit on a second object.
	gitAs(t, repo, "dave", historyT0.Add(9*time.Hour), "mv", webPath, webPath+".tmp")
	if err := os.WriteFile(filepath.Join(repo, webPath), []byte(deployment("web:5", 3, "  labels:\n    a: b\n  annotations:\n    x: y\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	gitAs(t, repo, "dave", historyT0.Add(9*time.Hour), "rm", "-q", "--cached", webPath+".tmp")
	gitAs(t, repo, "dave", historyT0.Add(9*time.Hour), "add", webPath)
	gitAs(t, repo, "dave", historyT0.Add(9*time.Hour), "commit", "-q", "-m", "five")
	got := historyOf(t, repo, "deployments/shop/web", "--limit", "1")
	if len(got) != 1 || got[0].What != "changed metadata.annotations, metadata.labels.a, metadata.labels.app and 3 more" || len(got[0].Fields) != 6 {
		t.Errorf("history --limit 1 = %+v", got)
	}
}

func TestHistoryFollowsAMoveToAnotherGroup(t *testing.T) {
	repo, _ := objectHistory(t)
	got := historyOf(t, repo, "ingresses.networking.k8s.io/shop/front")
	if len(got) != 2 || got[0].Change != "moved" || got[0].From != oldIngress || got[0].Path != newIngress ||
		!strings.Contains(got[0].What, "moved from "+oldIngress+"; changed apiVersion") || got[1].What != "created" || got[1].Path != oldIngress {
		t.Errorf("history of a moved object = %+v", got)
	}
	// By its resource alone: only one group holds ingresses now.
	if again := historyOf(t, repo, "ingresses/shop/front"); len(again) != 2 {
		t.Errorf("history ingresses/shop/front = %+v", again)
	}
}

func TestHistoryPagesByTimeAndCount(t *testing.T) {
	repo, ids := objectHistory(t)
	for _, tt := range []struct {
		args []string
		want []string // commits, by step
	}{
		{[]string{"--limit", "2"}, []string{ids[7], ids[5]}},
		{[]string{"--since", historyT0.Add(4 * time.Hour).Format(time.RFC3339)}, []string{ids[7], ids[5], ids[4]}},
		{[]string{"--until", historyT0.Add(4 * time.Hour).Format(time.RFC3339)}, []string{ids[4], ids[1], ids[0]}},
		{[]string{"--since", historyT0.Add(time.Hour).Format(time.RFC3339), "--until", historyT0.Add(5 * time.Hour).Format(time.RFC3339), "--limit", "2"}, []string{ids[5], ids[4]}},
		{[]string{"--since", "2027-01-01"}, nil},
	} {
		var got []string
		for _, e := range historyOf(t, repo, append([]string{"deployments.apps/shop/web"}, tt.args...)...) {
			got = append(got, e.Commit)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("history %v = %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestHistoryWithNothingInRangeIsAnEmptyList(t *testing.T) {
	repo, _ := objectHistory(t)
	out, errOut, code := kubesnap(t, "history", "deployments.apps/shop/web", "--repo", repo, "--since", "2027-01-01")
	if code != 0 || strings.TrimSpace(out) != strings.TrimSpace(fmt.Sprintf(historyColumns, "COMMIT", "TIME", "WHO", "WHAT")) {
		t.Errorf("history --since after the newest = %d %q %s", code, out, errOut)
	}
	out, _, code = kubesnap(t, "history", "deployments.apps/shop/web", "--repo", repo, "--until", "2025-01-01", "-o", "json")
	if code != 0 || out != "[]\n" {
		t.Errorf("history --until before the first -o json = %d %q", code, out)
	}
}

func TestHistoryPatchShowsEachDiff(t *testing.T) {
	repo, _ := objectHistory(t)
	out, errOut, code := kubesnap(t, "history", "Deployment/shop/web", "--repo", repo, "-p", "--limit", "2")
	if code != 0 {
		t.Fatalf("history -p = %d %s", code, errOut)
	}
	for _, want := range []string{"-      - image: web:3", "+      - image: web:4", "+++ b/" + webPath, "--- /dev/null"} {
		if !strings.Contains(out, want) {
			t.Errorf("history -p lacks %q:\n%s", want, out)
		}
	}
	got := historyOf(t, repo, "deployments.apps/shop/web", "-p", "--limit", "1")
	if len(got) != 1 || !strings.Contains(got[0].Diff, "+  replicas: 2") {
		t.Errorf("history -p -o json = %+v", got)
	}
}

func TestHistoryOfASecretShowsNoValue(t *testing.T) {
	repo, _ := objectHistory(t)
	got := historyOf(t, repo, "secrets/shop/db", "-p")
	if len(got) != 2 || got[0].What != `changed data.password, metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]` || got[0].Author != "carol" {
		t.Fatalf("history of a Secret = %+v", got)
	}
	if !strings.Contains(got[0].Diff, "<redacted: new value>") {
		t.Errorf("history -p of a Secret: %s", got[0].Diff)
	}
	out, _, code := kubesnap(t, "history", "secret/shop/db", "--repo", repo, "-p")
	if code != 0 {
		t.Fatal(out)
	}
	noSecretValue(t, "history -p", out)
}

func TestHistoryRefusesWhatItCannotName(t *testing.T) {
	repo, _ := objectHistory(t)
	// A second group with a deployments folder makes "deployments" ambiguous.
	other := filepath.Join(repo, "namespaces/lab/deployments.example.io/x.yaml")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("apiVersion: example.io/v1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: lab\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitAs(t, repo, "", historyT0.Add(10*time.Hour), "add", "-A")
	gitAs(t, repo, "", historyT0.Add(10*time.Hour), "commit", "-q", "-m", "lab")
	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"deployments/shop/web"}, 2, []string{`"deployments" names`, "deployments.apps", "deployments.example.io"}},
		{[]string{"Deployment/shop/web"}, 2, []string{"deployments.apps", "deployments.example.io"}},
		{[]string{"gadgets/shop/web"}, 2, []string{`no type "gadgets"`, "RESOURCE.GROUP"}},
		{[]string{"deployments.apps/web"}, 2, []string{"namespaced", "deployments.apps/NAMESPACE/web"}},
		{[]string{"shop/web"}, 2, []string{"no type"}},
		{[]string{"a/b/c/d"}, 2, []string{"TYPE/NAMESPACE/NAME"}},
		{[]string{"deployments.apps/shop/nothing"}, 1, []string{"deployments.apps/shop/nothing was never stored on branch main"}},
		{[]string{"deployments.apps/shop/web", "extra"}, 2, []string{"one object"}},
		{[]string{"deployments.apps/shop/web", "--since", "yesterday"}, 2, []string{"bad --since"}},
		{[]string{"deployments.apps/shop/web", "-o", "yaml"}, 2, []string{"bad -o"}},
		{[]string{"deployments.apps/shop/web", "--branch", "nope"}, 1, []string{"nope"}},
	} {
		_, errOut, code := kubesnap(t, append([]string{"history", "--repo", repo}, tt.args...)...)
		if code != tt.code {
			t.Errorf("history %v exited %d, want %d: %s", tt.args, code, tt.code, errOut)
		}
		oneLine(t, errOut, tt.want...)
	}
	if _, errOut, code := kubesnap(t, "history", "--repo", filepath.Join(repo, "missing"), "configmaps/shop/settings"); code != 1 {
		t.Errorf("history of a missing repository = %d %s", code, errOut)
	}
}

func TestShowPrintsTheObjectAtARevision(t *testing.T) {
	repo, ids := objectHistory(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{ids[1], "deployments.apps/shop/web"}, "image: web:2"},
		{[]string{"HEAD", "deployments/shop/web"}, "image: web:4"},
		{[]string{"main~2", "Deployment/shop/web"}, "image: web:3"},
		{[]string{"--at", historyT0.Add(90 * time.Minute).Format(time.RFC3339), "deployment/shop/web"}, "image: web:2"},
		{[]string{"--at", "2026-12-01", "deployment/shop/web"}, "image: web:4"},
	} {
		out, errOut, code := kubesnap(t, append([]string{"show", "--repo", repo}, tt.args...)...)
		if code != 0 || !strings.Contains(out, tt.want) || !strings.HasPrefix(out, "apiVersion: apps/v1\n") {
			t.Errorf("show %v = %d %s%s", tt.args, code, out, errOut)
		}
	}
	out, errOut, code := kubesnap(t, "show", "--repo", repo, ids[0], "ingresses.extensions/shop/front", "-o", "json")
	var obj map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &obj) != nil || obj["apiVersion"] != "extensions/v1beta1" {
		t.Errorf("show -o json = %d %s%s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{ids[4], "deployments.apps/shop/web"}, 1, []string{"is not in revision", "kubesnap history"}},
		{[]string{"nope", "deployments.apps/shop/web"}, 1, []string{`revision "nope" not found`}},
		{[]string{"--at", "2025-01-01", "deployments.apps/shop/web"}, 1, []string{"no commit before"}},
		{[]string{"deployments.apps/shop/web"}, 2, []string{"REV and the object"}},
		{[]string{"--at", "soon", "deployments.apps/shop/web"}, 2, []string{"bad --at"}},
		{[]string{"HEAD", "deployments.apps/shop/web", "-o", "table"}, 2, []string{"bad -o"}},
	} {
		_, errOut, code := kubesnap(t, append([]string{"show", "--repo", repo}, tt.args...)...)
		if code != tt.code {
			t.Errorf("show %v exited %d, want %d: %s", tt.args, code, tt.code, errOut)
		}
		oneLine(t, errOut, tt.want...)
	}
}

func TestShowHidesSecretValuesUnlessAsked(t *testing.T) {
	repo, ids := objectHistory(t)
	for _, rev := range []string{ids[0], "HEAD"} {
		for _, o := range []string{"yaml", "json"} {
			out, errOut, code := kubesnap(t, "show", "--repo", repo, rev, "secrets/shop/db", "-o", o)
			if code != 0 || !strings.Contains(out, "redacted") || !strings.Contains(out, "password") {
				t.Fatalf("show of a Secret = %d %s%s", code, out, errOut)
			}
			noSecretValue(t, "show", out)
		}
	}
	out, _, code := kubesnap(t, "show", "--repo", repo, "HEAD", "secrets/shop/db", "--show-secrets")
	if code != 0 || !strings.Contains(out, b64(secretNew)) {
		t.Errorf("show --show-secrets:\n%s", out)
	}
}

func TestBlameNamesTheCommitOfEachLine(t *testing.T) {
	repo, ids := objectHistory(t)
	out, errOut, code := kubesnap(t, "blame", "deployments.apps/shop/web", "--repo", repo)
	if code != 0 {
		t.Fatalf("blame = %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := map[string]string{"  replicas: 2": ids[7][:12] + "  2026-12-01 07:00:00Z  alice", "kind: Deployment": ids[5][:12] + "  2026-12-01 05:00:00Z  bob  "}
	for _, l := range lines {
		for text, prefix := range want {
			if strings.HasSuffix(l, "  "+text) && !strings.HasPrefix(l, prefix) {
				t.Errorf("blame line %q, want it to start %q", l, prefix)
			}
		}
	}
	if len(lines) != strings.Count(deployment("web:4", 2, "  labels:\n    app: web\n    tier: front\n"), "\n") {
		t.Errorf("blame printed %d lines:\n%s", len(lines), out)
	}
	out, errOut, code = kubesnap(t, "blame", "deployments.apps/shop/web", "--repo", repo, "--rev", ids[1], "-o", "json")
	var entries []blameEntry
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil {
		t.Fatalf("blame -o json = %d %s%s", code, out, errOut)
	}
	for _, e := range entries {
		wantCommit := ids[0]
		if strings.Contains(e.Text, "web:2") {
			wantCommit = ids[1]
		}
		if e.Commit != wantCommit {
			t.Errorf("blame --rev line %d %q: %s, want %s", e.Line, e.Text, e.Commit, wantCommit)
		}
	}
}

func TestBlameFollowsAMoveToAnotherGroup(t *testing.T) {
	repo, ids := objectHistory(t)
	out, errOut, code := kubesnap(t, "blame", "ingresses/shop/front", "--repo", repo, "-o", "json")
	var entries []blameEntry
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil {
		t.Fatalf("blame -o json = %d %s%s", code, out, errOut)
	}
	for _, e := range entries {
		want := ids[0] // written before the move, kept by it
		if strings.HasPrefix(e.Text, "apiVersion:") {
			want = ids[3]
		}
		if e.Commit != want {
			t.Errorf("blame line %d %q: %.12s, want %.12s", e.Line, e.Text, e.Commit, want)
		}
	}
}

func TestMatchLines(t *testing.T) {
	for _, tt := range []struct {
		before, after string
		want          string
	}{
		{"", "a\nb\n", "-1 -1"},
		{"a\nb\nc\n", "a\nx\nc\n", "0 -1 2"},
		{"a\nb\n", "b\na\nb\n", "-1 0 1"},
		{"a\nb", "a\nb\n", "0 -1"}, // the last line gained its newline
	} {
		got := fmt.Sprint(matchLines(tt.before, tt.after))
		if got != "["+tt.want+"]" {
			t.Errorf("matchLines(%q, %q) = %s, want [%s]", tt.before, tt.after, got, tt.want)
		}
	}
}

func TestBlameOfASecretShowsNoValue(t *testing.T) {
	repo, ids := objectHistory(t)
	for _, o := range []string{"text", "json"} {
		out, errOut, code := kubesnap(t, "blame", "secrets/shop/db", "--repo", repo, "-o", o)
		if code != 0 || !strings.Contains(out, "password: ") || !strings.Contains(out, "redacted") || !strings.Contains(out, ids[6][:12]) {
			t.Fatalf("blame of a Secret = %d %s%s", code, out, errOut)
		}
		noSecretValue(t, "blame", out)
	}
	out, _, code := kubesnap(t, "blame", "secrets/shop/db", "--repo", repo, "--show-secrets")
	if code != 0 || !strings.Contains(out, b64(secretNew)) {
		t.Errorf("blame --show-secrets:\n%s", out)
	}
}

func TestRedactSecretLinesHidesEveryForm(t *testing.T) {
	for _, tt := range []struct{ name, file string }{
		{"block", secretFile(secretNew)},
		{"flow", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata: {password: " + b64(secretNew) + "}\n"},
		{"string data, literal block", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: |\n    " + secretNew + "\n    " + secretOld + "\n"},
		{"annotation folded over lines", "apiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"data\":{\"password\":\"" + b64(secretNew) + "\"}}\n  name: db\ndata:\n  password: " + b64(secretNew) + "\n"},
		{"does not parse", "apiVersion: v1\nkind: Secret\ndata:\n  password: " + secretNew + "\n  - [\n"},
		{"two documents", "apiVersion: v1\nkind: Secret\n---\ndata:\n  password: " + secretNew + "\n"},
	} {
		lines := strings.Split(strings.TrimSuffix(tt.file, "\n"), "\n")
		got := strings.Join(redactSecretLines(lines, []byte(tt.file)), "\n")
		noSecretValue(t, tt.name, got)
		if strings.Contains(got, secretNew) {
			t.Errorf("%s: %s", tt.name, got)
		}
	}
}

// hostileRepo is objectHistory with one more commit made by plumbing:
// the object's path as a symbolic link, a submodule, two documents, a
// file too large, or a folder.
func hostileRepo(t *testing.T, kind string) string {
	t.Helper()
	repo, _ := objectHistory(t)
	when := historyT0.Add(12 * time.Hour)
	write := func(content string) string {
		f := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(gitAs(t, repo, "", when, "hash-object", "-w", f))
	}
	gitAs(t, repo, "", when, "rm", "-q", "--cached", webPath)
	switch kind {
	case "symlink":
		gitAs(t, repo, "", when, "update-index", "--add", "--cacheinfo", "120000,"+write("../../../etc/passwd")+","+webPath)
	case "submodule":
		gitAs(t, repo, "", when, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("ab", 20)+","+webPath)
	case "two documents":
		gitAs(t, repo, "", when, "update-index", "--add", "--cacheinfo", "100644,"+write(deployment("web:5", 1, "")+"---\n"+deployment("web:6", 1, ""))+","+webPath)
	case "huge":
		gitAs(t, repo, "", when, "update-index", "--add", "--cacheinfo", "100644,"+write(deployment("web:5", 1, "")+"# "+strings.Repeat("x", 9<<20)+"\n")+","+webPath)
	case "folder":
		gitAs(t, repo, "", when, "update-index", "--add", "--cacheinfo", "100644,"+write("x: 1\n")+","+webPath+"/inner.yaml")
	}
	gitAs(t, repo, "mallory", when, "commit", "-q", "-m", "hostile")
	return repo
}

func TestHostileRepositoriesGetOneClearError(t *testing.T) {
	for _, tt := range []struct {
		kind string
		want string
		// historyOK: history lists the change (it reads no file that is
		// not one: two documents are named as such).
		historyOK bool
	}{
		{"symlink", "is a symbolic link", false},
		{"submodule", "is a submodule", false},
		{"two documents", "not one Kubernetes object", true},
		{"huge", "more than the 8 MiB", false},
		{"folder", "is a folder", false},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			repo := hostileRepo(t, tt.kind)
			for _, args := range [][]string{
				{"show", "HEAD", "deployments.apps/shop/web"},
				{"blame", "deployments.apps/shop/web"},
				{"history", "deployments.apps/shop/web"},
			} {
				out, errOut, code := kubesnap(t, append(args, "--repo", repo)...)
				if args[0] == "history" && tt.historyOK {
					if code != 0 || !strings.Contains(out, tt.want) {
						t.Errorf("%v = %d %s%s", args, code, out, errOut)
					}
					continue
				}
				if code != 1 {
					t.Errorf("%v exited %d: %s%s", args, code, out, errOut)
				}
				oneLine(t, errOut, tt.want)
			}
		})
	}
}

func TestShowDecryptsAnEncryptedSecretButHidesItsValues(t *testing.T) {
	repo, _ := objectHistory(t)
	identity, recipient := ageKey(t)
	rcpts, err := sops.ParseRecipients([]string{recipient})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sops.Encrypt([]byte(secretFile(secretNew)), rcpts, "^(data|stringData)$", historyT0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, secretPath), enc, 0o644); err != nil {
		t.Fatal(err)
	}
	gitAs(t, repo, "", historyT0.Add(11*time.Hour), "add", secretPath)
	gitAs(t, repo, "dave", historyT0.Add(11*time.Hour), "commit", "-q", "-m", "encrypt")
	for _, args := range [][]string{
		{"show", "HEAD", "secrets/shop/db"},
		{"show", "HEAD", "secrets/shop/db", "--age-identity", identity},
		{"show", "HEAD", "secrets/shop/db", "--age-identity", identity, "-o", "json"},
		{"blame", "secrets/shop/db"},
		{"history", "secrets/shop/db", "-p"},
		{"history", "secrets/shop/db", "-p", "--age-identity", identity},
	} {
		out, errOut, code := kubesnap(t, append(args, "--repo", repo)...)
		if code != 0 {
			t.Fatalf("%v = %d %s", args, code, errOut)
		}
		noSecretValue(t, strings.Join(args, " "), out)
	}
	out, _, code := kubesnap(t, "show", "HEAD", "secrets/shop/db", "--repo", repo, "--age-identity", identity, "--show-secrets")
	if code != 0 || !strings.Contains(out, b64(secretNew)) {
		t.Errorf("show --show-secrets with the identity:\n%s", out)
	}
	_, errOut, code := kubesnap(t, "show", "HEAD", "secrets/shop/db", "--repo", repo, "--show-secrets")
	if code != 2 {
		t.Errorf("show --show-secrets without an identity = %d", code)
	}
	oneLine(t, errOut, "is encrypted", "--age-identity")
}

func TestOddNamesAreEscapedAndQuoted(t *testing.T) {
	repo, _ := objectHistory(t)
	// A name kubesnap escapes in its file name.
	p := "namespaces/shop/configmaps/my%3Acm%20x.yaml"
	if err := os.WriteFile(filepath.Join(repo, p), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'my:cm x'\n  namespace: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitAs(t, repo, "", historyT0.Add(9*time.Hour), "add", p)
	gitAs(t, repo, "erin", historyT0.Add(9*time.Hour), "commit", "-q", "-m", "odd")
	if got := historyOf(t, repo, "configmaps/shop/my:cm x"); len(got) != 1 || got[0].Path != p || got[0].Author != "erin" {
		t.Errorf("history of an escaped name = %+v", got)
	}
	out, errOut, code := kubesnap(t, "show", "HEAD", "configmap/shop/my:cm x", "--repo", repo)
	if code != 0 || !strings.Contains(out, "my:cm x") {
		t.Errorf("show of an escaped name = %d %s%s", code, out, errOut)
	}
	// A control character in a name is quoted, never printed raw.
	_, errOut, code = kubesnap(t, "history", "gadgets/shop/a\x1b[2Jb", "--repo", repo)
	if code != 2 || strings.Contains(errOut, "\x1b") {
		t.Errorf("history of a name with an escape = %d %q", code, errOut)
	}
	oneLine(t, errOut, `\x1b`)
}

func TestHistoryTakesTheRepositoryFromTheConfigurationFile(t *testing.T) {
	repo, ids := objectHistoryUnder(t, "clusters/a")
	cfg := writeConfig(t, t.TempDir(), "repository:\n  dir: "+repo+"\n  path: clusters/a\n")
	out, errOut, code := kubesnap(t, "history", "deployments.apps/shop/web", "--config", cfg, "--limit", "1", "-o", "json")
	if code != 0 || !strings.Contains(out, ids[7]) {
		t.Errorf("history --config = %d %s%s", code, out, errOut)
	}
	out, errOut, code = kubesnap(t, "blame", "deployments.apps/shop/web", "--config", cfg)
	if code != 0 || !strings.Contains(out, ids[7][:12]) {
		t.Errorf("blame --config = %d %s%s", code, out, errOut)
	}
}
