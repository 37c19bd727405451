package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
)

// markedSecret is a Secret that carries kubesnap's marks next to real
// values, as one does after someone applied a redacted file from the
// repository and filled in the values.
func markedSecret(ns, name, canary string) string {
	return `apiVersion: v1
kind: Secret
metadata:
  name: ` + name + `
  namespace: ` + ns + `
  annotations:
    kubesnap.io/redacted: "true"
    kubesnap.io/digest: hmac-sha256:0000
  labels:
    kubesnap.io/redacted: "true"
stringData:
  password: ` + canary + `
`
}

// TestMarkedLiveObjectsAreRedacted: kubesnap.io/redacted on a live object
// never keeps its values out of redaction, in snapshot, watch and rules
// --explain; in the modes that keep values, the false mark is not stored.
func TestMarkedLiveObjectsAreRedacted(t *testing.T) {
	testenv.Require(t, env)
	const canary = "canary-marked-81f2"
	ns := secretFixture(t, "unmarked")
	env.Kubectl(t, markedSecret(ns, "marked", canary+"-snapshot"), "apply", "-f", "-")
	env.Kubectl(t, `apiVersion: example.com/v1
kind: Widget
metadata:
  name: marked
  namespace: `+ns+`
  annotations:
    kubesnap.io/redacted: "true"
spec:
  color: `+canary+`-widget
`, "apply", "-f", "-")
	canaries := []string{canary + "-snapshot", canary + "-widget", canary + "-watch"}

	repo := t.TempDir()
	args := []string{"--include-namespaces", ns, "--sensitive-resources", "widgets.example.com"}
	mustSnapshot(t, repo, args...)
	file, _ := headFile(repo, "namespaces/"+ns+"/secrets/marked.yaml")
	if !strings.Contains(file, "password: "+canonical.Redacted) || strings.Contains(file, "hmac-sha256:0000") {
		t.Errorf("the marked Secret is stored with its value or its forged digest:\n%s", file)
	}

	w := startWatch(t, repo, args...)
	env.Kubectl(t, markedSecret(ns, "marked-later", canary+"-watch"), "apply", "-f", "-")
	eventually(t, time.Minute, func() bool {
		_, ok := headFile(repo, "namespaces/"+ns+"/secrets/marked-later.yaml")
		return ok
	}, "the watcher's commit of the marked Secret")
	if code := w.stop(t); code != 0 {
		t.Fatalf("watch exited %d:\n%s", code, w.log)
	}
	checkNoSecretValues(t, repo, canaries...)

	for _, target := range []string{"secrets/" + ns + "/marked", "widgets.example.com/" + ns + "/marked"} {
		out, errOut, code := kubesnap(t, "rules", "--kubeconfig", env.Kubeconfig, "--sensitive-resources", "widgets.example.com", "--explain", target)
		if code != 0 {
			t.Fatalf("rules --explain %s exited %d: %s", target, code, errOut)
		}
		for _, c := range canaries {
			if strings.Contains(out, c) || strings.Contains(out, b64(c)) {
				t.Errorf("rules --explain %s shows a value:\n%s", target, out)
			}
		}
	}

	_, recipient := ageKey(t)
	for _, mode := range [][]string{{"--secrets", "plain"}, {"--secrets", "encrypt", "--age-recipient", recipient}} {
		repo := t.TempDir()
		mustSnapshot(t, repo, append([]string{"--include-namespaces", ns}, mode...)...)
		file, _ := headFile(repo, "namespaces/"+ns+"/secrets/marked.yaml")
		obj, err := canonical.Parse([]byte(file))
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode[1], err, file)
		}
		if _, marked := obj.GetAnnotations()[canonical.RedactedAnnotation]; marked {
			t.Errorf("%s stores the false mark, so restore would skip the Secret:\n%s", mode[1], file)
		}
	}
}

// TestRedactedFileIsRefusedByTheAPIServer: a redacted Secret that kubesnap
// wrote, applied by kubectl, is refused and the live values stay; files
// with the older marker are read as redacted by diff and restore, and
// rewritten once by the next snapshot.
func TestRedactedFileIsRefusedByTheAPIServer(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "apply-canary")
	before := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.data}")
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)
	file := filepath.Join(repo, "namespaces", ns, "secrets", "db.yaml")

	// As a person restoring by checking out a commit would: forcing the
	// conflicts with the Secret's own manager, or client-side.
	for _, apply := range [][]string{{"apply", "--server-side", "--force-conflicts", "-f", file}, {"apply", "-f", file}} {
		out, err := env.KubectlErr("", apply...)
		if err == nil {
			t.Errorf("kubectl %v of a redacted Secret succeeded:\n%s", apply, out)
		} else if !strings.Contains(out, "base64") {
			t.Errorf("kubectl %v was refused, but not for the marker:\n%s", apply, out)
		}
		if after := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.data}"); after != before {
			t.Errorf("kubectl %v changed the live values from %s to %s", apply, before, after)
		}
	}
	ann := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.metadata.annotations}")
	if strings.Contains(ann, canonical.RedactedAnnotation) {
		t.Errorf("the apply copied kubesnap's mark onto the live Secret: %s", ann)
	}

	// A repository written with the older marker.
	const oldMarker = "a3ViZXNuYXA6cmVkYWN0ZWQ="
	for _, name := range []string{"db", "api"} {
		p := filepath.Join(repo, "namespaces", ns, "secrets", name+".yaml")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(data), canonical.Redacted, oldMarker)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, repo, "files as an older kubesnap wrote them")
	if out, errOut, code := kubesnap(t, "diff", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns); code != 0 {
		t.Errorf("diff of files with the older marker exited %d:\n%s%s", code, out, errOut)
	}
	res := restoreJSON(t, 0, "--repo", repo, "--rev", "HEAD", "--dry-run", "--include-namespaces", ns)
	for _, o := range res.Plan.Objects {
		if o.Resource == "secrets" && (o.Name == "db" || o.Name == "api") && o.Action != "skip" {
			t.Errorf("restore plans %s for secret %s with the older marker, want skip", o.Action, o.Name)
		}
	}
	mustSnapshot(t, repo, scope...)
	if changed := strings.Fields(git(t, repo, "diff", "--name-only", "HEAD~1", "HEAD")); len(changed) != 2 {
		t.Errorf("the snapshot after the older marker changed %v, want the two Secrets", changed)
	}
	if out := mustSnapshot(t, repo, scope...); !strings.HasPrefix(out, "no changes") {
		t.Errorf("a second snapshot changed files again: %s", out)
	}

	// A redacted file whose annotation was removed is still skipped.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`(?m)^    kubesnap\.io/redacted: "true"\n`).ReplaceAllString(string(data), "")
	if stripped == string(data) {
		t.Fatalf("no annotation to strip in:\n%s", data)
	}
	if err := os.WriteFile(file, []byte(stripped), 0o644); err != nil {
		t.Fatal(err)
	}
	commit(t, repo, "the mark removed by hand")
	res = restoreJSON(t, 0, "--repo", repo, "--rev", "HEAD", "--dry-run", "--include-namespaces", ns)
	for _, o := range res.Plan.Objects {
		if o.Resource == "secrets" && o.Name == "db" && o.Action != "skip" {
			t.Errorf("restore plans %s for a redacted Secret without its mark, want skip", o.Action)
		}
	}
}

// TestSensitiveResourcesMustBeServed: a name in --sensitive-resources that
// no served type answers to stops every command that has the flag, naming
// what it could mean; a short form that names one type is taken as it.
func TestSensitiveResourcesMustBeServed(t *testing.T) {
	testenv.Require(t, env)
	const canary = "canary-short-form"
	ns := secretFixture(t, canary)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	for _, tc := range []struct {
		name, want string
	}{
		{"widgetz", `"widgetz" is not a type this server serves; did you mean widgets.example.com?`},
		{"widgets.example.org", "did you mean widgets.example.com?"},
		{"credentials", `"credentials" is not a type this server serves`},
	} {
		for _, cmd := range [][]string{
			{"snapshot", "--repo", repo, "--include-namespaces", ns},
			{"watch", "--repo", repo, "--include-namespaces", ns, "--listen", ""},
			{"diff", "--repo", repo, "--include-namespaces", ns},
			{"rules", "--explain", "secrets/" + ns + "/db"},
		} {
			args := append(cmd, "--kubeconfig", env.Kubeconfig, "--sensitive-resources", tc.name)
			_, errOut, code := kubesnapWithin(t, time.Minute, args...)
			if code != 2 {
				t.Errorf("%s --sensitive-resources %s exited %d, want 2: %s", cmd[0], tc.name, code, errOut)
			}
			oneLine(t, errOut, "--sensitive-resources", tc.want)
		}
	}
	// From the configuration file alike, and it says so.
	cfg := filepath.Join(t.TempDir(), "kubesnap.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: kubesnap.io/v1alpha1\nkind: Config\nsecrets:\n  sensitiveResources: [widgetz]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := kubesnap(t, "snapshot", "--config", cfg, "--repo", t.TempDir(), "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns)
	if code != 2 {
		t.Errorf("a configuration file naming no served type: exit %d, want 2", code)
	}
	oneLine(t, errOut, "secrets.sensitiveResources", "did you mean widgets.example.com?")

	// The resource alone, or the kind, names one type: taken as
	// widgets.example.com.
	for _, name := range []string{"widgets", "Widget"} {
		short := t.TempDir()
		mustSnapshot(t, short, "--include-namespaces", ns, "--sensitive-resources", name)
		if f, _ := headFile(short, "namespaces/"+ns+"/widgets.example.com/credential.yaml"); !strings.Contains(f, "color: "+canonical.Redacted) {
			t.Errorf("--sensitive-resources %s left the Widget's values:\n%s", name, f)
		}
		checkNoSecretValues(t, short, canary+"-widget")
	}
}

// kubesnapWithin is kubesnap, ended after d as SIGTERM would: for
// commands that must stop at start and would otherwise run on (watch).
func kubesnapWithin(t *testing.T, d time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		errOut.WriteString(err.Error())
	}
	if ctx.Err() != nil {
		t.Errorf("kubesnap %s was still running after %s", args[0], d)
	}
	return out.String(), errOut.String(), exitCode(err, io.Discard)
}

// commit commits every change in repo's worktree, as a person would.
func commit(t *testing.T, repo, msg string) {
	t.Helper()
	git(t, repo, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qam", msg)
}

// limitedUser grants testenv's LimitedUser what a snapshot of ns needs
// but the digest key's Secret.
func limitedUser(t *testing.T, ns string) {
	t.Helper()
	role := "kubesnap-test-nokey-" + ns
	env.Kubectl(t, "", "create", "clusterrole", role, "--verb=get,list,watch", "--resource=namespaces,configmaps")
	env.Kubectl(t, "", "create", "clusterrolebinding", role, "--clusterrole="+role, "--user="+testenv.LimitedUser)
	t.Cleanup(func() {
		for _, kind := range []string{"clusterrolebinding", "clusterrole"} {
			if out, err := env.KubectlErr("", "delete", kind, role); err != nil {
				t.Errorf("delete %s %s: %v: %s", kind, role, err, out)
			}
		}
	})
}

// TestNoDigestKeyStopsUnlessAllowed: a user who may not read the digest
// key is stopped at start by snapshot, watch and diff, with one line
// naming the Secret and --allow-stale-secrets, which lets them go on.
func TestNoDigestKeyStopsUnlessAllowed(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "visible", "--from-literal=k=v")
	limitedUser(t, ns)
	repo := filepath.Join(t.TempDir(), "repo")
	base := []string{"--repo", repo, "--kubeconfig", env.LimitedKubeconfig, "--include-namespaces", ns, "--include-resources", "configmaps"}
	for _, cmd := range []string{"snapshot", "watch", "diff"} {
		args := append([]string{cmd}, base...)
		if cmd == "watch" {
			args = append(args, "--listen", "")
		}
		if cmd == "diff" {
			mustSnapshot(t, repo, "--include-namespaces", ns)
		}
		_, errOut, code := kubesnapWithin(t, time.Minute, args...)
		if code == 0 {
			t.Errorf("%s without the digest key exited 0", cmd)
		}
		oneLine(t, errOut, "cannot read the digest key Secret kubesnap-system/kubesnap-digest-key", "grant get", "--digest-key FILE", "--allow-stale-secrets")
		if cmd == "snapshot" {
			if _, err := os.Stat(repo); !os.IsNotExist(err) {
				t.Errorf("a snapshot stopped at start left the repository behind: %v", err)
			}
		}
	}
	out, errOut, code := kubesnap(t, append([]string{"snapshot", "--allow-stale-secrets"}, base...)...)
	if code != 0 || !strings.Contains(errOut, "--allow-stale-secrets") {
		t.Errorf("snapshot --allow-stale-secrets exited %d, want 0 and a warning:\n%s%s", code, out, errOut)
	}
	cfg := filepath.Join(t.TempDir(), "kubesnap.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: kubesnap.io/v1alpha1\nkind: Config\nsecrets:\n  allowStaleSecrets: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := kubesnap(t, append([]string{"snapshot", "--config", cfg}, base...)...); code != 0 {
		t.Errorf("snapshot with secrets.allowStaleSecrets in the configuration file exited %d:\n%s%s", code, out, errOut)
	}
}

// TestAgeKeyErrorsNeverQuoteTheKey: a secret key where a public key or a
// file name is expected is refused without printing it.
func TestAgeKeyErrorsNeverQuoteTheKey(t *testing.T) {
	identity, recipient := ageKey(t)
	data, err := os.ReadFile(identity)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(strings.Split(string(data), "\n")[1])
	body := strings.TrimPrefix(secret, "AGE-SECRET-KEY-")
	repo := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a secret key as --age-recipient", []string{"snapshot", "--repo", repo, "--secrets", "encrypt", "--age-recipient", secret},
			[]string{"--age-recipient is an age secret key", "age1"}},
		{"a secret key as the second --age-recipient", []string{"snapshot", "--repo", repo, "--secrets", "encrypt", "--age-recipient", recipient, "--age-recipient", secret},
			[]string{"--age-recipient number 2 is an age secret key", "age1"}},
		{"a bad public key", []string{"snapshot", "--repo", repo, "--secrets", "encrypt", "--age-recipient", "age1notakey"},
			[]string{"--age-recipient is not a valid age1… public key", "58 more"}},
		{"an identity file as --age-recipients-file", []string{"snapshot", "--repo", repo, "--secrets", "encrypt", "--age-recipients-file", identity},
			[]string{"--age-recipients-file " + identity + " line 2 is an age secret key", "age1"}},
		{"a secret key as --age-recipients-file", []string{"snapshot", "--repo", repo, "--secrets", "encrypt", "--age-recipients-file", secret},
			[]string{"--age-recipients-file takes the path"}},
		{"a secret key as --age-identity", []string{"diff", "--repo", repo, "--rev", "HEAD", "--to", "HEAD", "--age-identity", secret},
			[]string{"--age-identity takes the path of an identity file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := kubesnap(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2: %s", code, errOut)
			}
			if strings.Contains(errOut, body) || strings.Contains(strings.ToLower(errOut), strings.ToLower(body[:20])) || strings.Contains(errOut, "notakey") {
				t.Fatalf("the error quotes the secret key: %s", errOut)
			}
			oneLine(t, errOut, tc.want...)
		})
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); !os.IsNotExist(err) {
		t.Errorf("a command refused for its flags made a repository")
	}
	t.Setenv("SOPS_AGE_KEY_FILE", secret)
	_, errOut, code := kubesnap(t, "diff", "--repo", repo, "--rev", "HEAD", "--to", "HEAD")
	if code != 2 || strings.Contains(errOut, body) || !strings.Contains(errOut, "SOPS_AGE_KEY_FILE takes the path") {
		t.Errorf("SOPS_AGE_KEY_FILE holding a key: exit %d, %q", code, errOut)
	}
}

// TestServerProblemsComeFirst: an unreachable server or refused
// credentials give a first line about the server and what to check,
// never about the digest key asked for first.
func TestServerProblemsComeFirst(t *testing.T) {
	testenv.Require(t, env)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone")
	if err := os.WriteFile(gone, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://`+closed+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`), 0o600); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	badToken := filepath.Join(dir, "bad-token")
	bad := regexp.MustCompile(`(?m)^(\s*token:).*$`).ReplaceAll(good, []byte("$1 not-the-token"))
	if string(bad) == string(good) {
		t.Fatal("no token in the test kubeconfig")
	}
	if err := os.WriteFile(badToken, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", "default")
	for _, kc := range []struct {
		file string
		want []string
	}{
		{gone, []string{"cannot reach the API server at " + closed, "--kubeconfig"}},
		{badToken, []string{"refused the credentials (401 Unauthorized)", "token or client certificate", "--kubeconfig"}},
	} {
		for _, cmd := range [][]string{
			{"snapshot", "--repo", filepath.Join(dir, "new")},
			{"watch", "--repo", filepath.Join(dir, "new"), "--listen", ""},
			{"diff", "--repo", repo},
		} {
			_, errOut, code := kubesnapWithin(t, time.Minute, append(cmd, "--kubeconfig", kc.file)...)
			if code == 0 {
				t.Errorf("%s with %s exited 0", cmd[0], filepath.Base(kc.file))
			}
			if strings.Contains(errOut, "digest") {
				t.Errorf("%s with %s speaks of the digest key: %s", cmd[0], filepath.Base(kc.file), errOut)
			}
			oneLine(t, errOut, kc.want...)
		}
	}
}
