package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/sops"
	"github.com/kubesnap/kubesnap/internal/testenv"
)

// ageKey writes a new age identity file and returns its path and recipient.
func ageKey(t *testing.T) (identityFile, recipient string) {
	t.Helper()
	id, rcpt, err := sops.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	identityFile = filepath.Join(t.TempDir(), "age.key")
	if err := os.WriteFile(identityFile, []byte("# test key\n"+id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return identityFile, rcpt
}

// secretFixture makes a namespace with Secrets holding canary values (one
// set through data, one through stringData) and a sensitive Widget.
func secretFixture(t *testing.T, canary string) string {
	t.Helper()
	env.Kubectl(t, "", "apply", "-f", "../../examples/workloads/01-crd.yaml")
	env.Kubectl(t, "", "wait", "--for", "condition=established", "crd/widgets.example.com")
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "db", "--from-literal=password="+canary+"-data", "--from-literal=user=app", "--from-literal=empty=")
	env.Kubectl(t, `apiVersion: v1
kind: Secret
metadata:
  name: api
  namespace: `+ns+`
stringData:
  token: `+canary+`-stringdata
  config.yaml: |
    endpoint: https://example.com
    key: `+canary+`-nested
`, "apply", "-f", "-")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "plain", "--from-literal=a=b")
	env.Kubectl(t, `apiVersion: example.com/v1
kind: Widget
metadata:
  name: credential
  namespace: `+ns+`
spec:
  color: `+canary+`-widget
`, "apply", "-f", "-")
	return ns
}

// TestSecretsCanariesReachNeitherGitNorLogs runs snapshot and watch in
// every mode but plain, and searches every blob of every commit, and all
// output, for the canary values.
func TestSecretsCanariesReachNeitherGitNorLogs(t *testing.T) {
	testenv.Require(t, env)
	const canary = "canary-5d1f0c2e"
	ns := secretFixture(t, canary)
	_, recipient := ageKey(t)
	canaries := []string{canary + "-data", canary + "-stringdata", canary + "-nested", canary + "-widget", canary + "-changed"}
	for _, mode := range []string{"redact", "encrypt", "skip"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{"--include-namespaces", ns, "--secrets", mode, "--sensitive-resources", "widgets.example.com"}
			if mode == "encrypt" {
				args = append(args, "--age-recipient", recipient)
			}
			repo := t.TempDir()
			out, errOut, code := kubesnap(t, append([]string{"snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig}, args...)...)
			if code != 0 {
				t.Fatalf("snapshot exited %d: %s", code, errOut)
			}
			logs := out + errOut
			_, hasDB := headFile(repo, "namespaces/"+ns+"/secrets/db.yaml")
			_, hasWidget := headFile(repo, "namespaces/"+ns+"/widgets.example.com/credential.yaml")
			if want := mode != "skip"; hasDB != want || hasWidget != want {
				t.Errorf("mode %s: Secret stored %v, Widget stored %v; want %v", mode, hasDB, hasWidget, want)
			}
			if mode == "skip" {
				cov, _ := headFile(repo, ".kubesnap/coverage.txt")
				if !strings.Contains(cov, "not stored: secrets mode skip") {
					t.Errorf("coverage does not say Secrets are skipped:\n%s", cov)
				}
			}

			w := startWatch(t, repo, args...)
			before := headCommit(t, repo)
			env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "-p", `{"stringData":{"password":"`+canary+`-changed"}}`)
			env.Kubectl(t, "", "-n", ns, "label", "configmap", "plain", "touched="+mode, "--overwrite")
			eventually(t, time.Minute, func() bool {
				f, _ := headFile(repo, "namespaces/"+ns+"/configmaps/plain.yaml")
				return strings.Contains(f, "touched: "+mode)
			}, "the watcher's commit")
			if code := w.stop(t); code != 0 {
				t.Fatalf("watch exited %d:\n%s", code, w.log)
			}
			logs += w.log.String()
			if mode != "skip" {
				changed := git(t, repo, "diff", "--name-only", before, "HEAD")
				if !strings.Contains(changed, "secrets/db.yaml") {
					t.Errorf("mode %s: a changed value made no change to the Secret's file; changed:\n%s", mode, changed)
				}
			}
			checkNoSecretValues(t, repo, canaries...)
			for _, c := range canaries {
				if strings.Contains(logs, c) || strings.Contains(logs, b64(c)) {
					t.Errorf("mode %s: the output holds canary %s", mode, c)
				}
			}
			// Restore the value for the next mode.
			env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "-p", `{"stringData":{"password":"`+canary+`-data"}}`)
		})
	}
}

// TestSecretsEncryptMakesNoChurnAndSopsDecrypts: unchanged Secrets are never
// encrypted again; the real sops binary reads the files kubesnap wrote.
func TestSecretsEncryptMakesNoChurnAndSopsDecrypts(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "value")
	identity, recipient := ageKey(t)
	repo := t.TempDir()
	args := []string{"--include-namespaces", ns, "--secrets", "encrypt", "--age-recipient", recipient}
	mustSnapshot(t, repo, args...)
	first := headCommit(t, repo)
	for i := range 10 {
		if out := mustSnapshot(t, repo, args...); !strings.HasPrefix(out, "no changes") {
			t.Fatalf("snapshot %d of an unchanged cluster: %s", i+2, out)
		}
	}
	if head := headCommit(t, repo); head != first {
		t.Fatalf("10 snapshots of an unchanged cluster moved HEAD")
	}

	env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "-p", `{"stringData":{"user":"admin"}}`)
	mustSnapshot(t, repo, args...)
	changed := strings.Fields(git(t, repo, "diff", "--name-only", "HEAD~1", "HEAD"))
	if want := "namespaces/" + ns + "/secrets/db.yaml"; len(changed) != 1 || changed[0] != want {
		t.Errorf("changing one value changed %v, want [%s]", changed, want)
	}

	// A new recipient encrypts again (the old one could not be dropped
	// otherwise), and both can decrypt.
	_, second := ageKey(t)
	mustSnapshot(t, repo, append(args, "--age-recipient", second)...)
	if changed := git(t, repo, "diff", "--name-only", "HEAD~1", "HEAD"); strings.Count(changed, "\n") != 2 {
		t.Errorf("a new recipient re-encrypted:\n%s; want both Secrets", changed)
	}

	sopsBin := testenv.Binary("sops")
	if _, err := os.Stat(sopsBin); err != nil {
		t.Fatalf("sops is not built (%v): run 'make testbin'", err)
	}
	file := filepath.Join(repo, "namespaces", ns, "secrets", "db.yaml")
	cmd := exec.Command(sopsBin, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", file)
	cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE="+identity)
	plain, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sops --decrypt: %v\n%s", err, plain)
	}
	obj, err := canonical.Parse(plain)
	if err != nil {
		t.Fatalf("sops output: %v\n%s", err, plain)
	}
	data, _, _ := unstructuredStrings(obj.Object, "data")
	if data["password"] != b64("value-data") || data["user"] != b64("admin") {
		t.Errorf("sops decrypted data %v", data)
	}
}

// unstructuredStrings reads a map of strings at path.
func unstructuredStrings(obj map[string]any, path ...string) (map[string]string, bool, error) {
	cur := any(obj)
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	m, ok := cur.(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out, ok, nil
}

// TestSecretsBadFlagsGetOneClearLine covers the secrets flags' failure paths.
func TestSecretsBadFlagsGetOneClearLine(t *testing.T) {
	testenv.Require(t, env)
	keyFile := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(keyFile, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown mode", []string{"--secrets", "hide"}, 2, `unknown secrets mode "hide"`},
		{"encrypt without recipients", []string{"--secrets", "encrypt"}, 2, "--secrets encrypt needs the public keys"},
		{"bad recipient", []string{"--secrets", "encrypt", "--age-recipient", "age1notakey"}, 2, "--age-recipient is not a valid age1… public key"},
		{"recipient without encrypt", []string{"--age-recipient", "age1x"}, 2, "age recipients are for --secrets encrypt"},
		{"missing recipients file", []string{"--secrets", "encrypt", "--age-recipients-file", "/nonexistent/recipients"}, 1, "--age-recipients-file"},
		{"bad sensitive resource", []string{"--sensitive-resources", "widgets/example"}, 2, "<resource>.<group> form"},
		{"short digest key", []string{"--digest-key", keyFile}, 1, "at least 16 bytes"},
		{"missing digest key", []string{"--digest-key", "/nonexistent/key"}, 1, "--digest-key"},
		{"bad digest key secret", []string{"--digest-key-secret", "nons"}, 2, "NAMESPACE/NAME"},
		{"digest key namespace missing", []string{"--digest-key-secret", "no-such-namespace/key"}, 1, "create namespace no-such-namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			_, errOut, code := kubesnap(t, append([]string{"snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", "default"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Errorf("exit %d, stderr %q; want exit %d and a line with %q", code, errOut, tc.code, tc.want)
			}
			if entries, _ := os.ReadDir(repo); len(entries) != 0 {
				t.Errorf("a failed snapshot left files in the repository")
			}
		})
	}
}

// TestSecretsPlainWarns: plain stores values, and says so.
func TestSecretsPlainWarns(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "plain-value")
	repo := t.TempDir()
	_, errOut, code := kubesnap(t, "snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns, "--secrets", "plain")
	if code != 0 || !strings.Contains(errOut, "warning: --secrets plain") {
		t.Fatalf("exit %d, stderr %q; want a warning", code, errOut)
	}
	f, _ := headFile(repo, "namespaces/"+ns+"/secrets/db.yaml")
	if !strings.Contains(f, b64("plain-value-data")) {
		t.Errorf("plain mode did not store the value:\n%s", f)
	}
}

// TestSecretsDiff: diff sees a changed value through the digest, without
// a private key and without showing it; between two revisions it decrypts
// with the identity and names the key.
func TestSecretsDiff(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "diff-canary")
	identity, recipient := ageKey(t)
	for _, mode := range []string{"redact", "encrypt"} {
		t.Run(mode, func(t *testing.T) {
			repo := t.TempDir()
			args := []string{"--include-namespaces", ns, "--secrets", mode, "--sensitive-resources", "widgets.example.com"}
			if mode == "encrypt" {
				args = append(args, "--age-recipient", recipient)
			}
			mustSnapshot(t, repo, args...)
			diffArgs := []string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns, "--sensitive-resources", "widgets.example.com"}
			if out, errOut, code := kubesnap(t, diffArgs...); code != 0 {
				t.Fatalf("diff right after the snapshot exited %d:\n%s%s", code, out, errOut)
			}
			env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "-p", `{"stringData":{"user":"diff-canary-new"}}`)
			t.Cleanup(func() {
				env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "-p", `{"stringData":{"user":"app"}}`)
			})
			out, errOut, code := kubesnap(t, diffArgs...)
			if code != 1 || !strings.Contains(out, "secrets/db") || !strings.Contains(out, "kubesnap.io/digest") {
				t.Errorf("diff after a value changed exited %d:\n%s%s", code, out, errOut)
			}
			if strings.Contains(out+errOut, "diff-canary") || strings.Contains(out+errOut, b64("diff-canary-new")) {
				t.Errorf("diff shows a value:\n%s", out)
			}
			if mode != "encrypt" {
				return
			}
			out, errOut, code = kubesnap(t, append(diffArgs, "--age-identity", identity)...)
			if code != 1 || !strings.Contains(out, "user: '<redacted: new value>'") || strings.Contains(out+errOut, "diff-canary") || strings.Contains(out, b64("diff-canary-new")) {
				t.Errorf("live diff with the key exited %d; want the changed key named, no value:\n%s%s", code, out, errOut)
			}
			mustSnapshot(t, repo, args...)
			toArgs := []string{"diff", "--repo", repo, "--rev", "HEAD~1", "--to", "HEAD"}
			out, _, code = kubesnap(t, toArgs...)
			if code != 1 || !strings.Contains(out, "give --age-identity") {
				t.Errorf("diff --to without a key exited %d:\n%s", code, out)
			}
			out, errOut, code = kubesnap(t, append(toArgs, "--age-identity", identity)...)
			if code != 1 || !strings.Contains(out, "user") || strings.Contains(out, "give --age-identity") || strings.Contains(out, b64("diff-canary-new")) {
				t.Errorf("diff --to with the key exited %d:\n%s%s", code, out, errOut)
			}
			if _, errOut, code := kubesnap(t, append(toArgs, "--age-identity", "/nonexistent/key")...); code != 2 || !strings.Contains(errOut, "--age-identity /nonexistent/key") {
				t.Errorf("diff with a missing identity file: exit %d, %q", code, errOut)
			}
		})
	}
}

// TestSecretsDigestKeyIsSharedWithTheWatcher: without --digest-key-secret
// a snapshot uses the key the in-cluster watcher keeps in kubesnap-system,
// so both digest alike; a --digest-key file with the same key agrees.
func TestSecretsDigestKeyIsSharedWithTheWatcher(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "shared-key")
	if _, err := env.KubectlErr("", "get", "namespace", "kubesnap-system"); err != nil {
		env.Kubectl(t, "", "create", "namespace", "kubesnap-system")
		t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "namespace", "kubesnap-system", "--wait=false") })
	}
	const key = "0123456789abcdef0123456789abcdef"
	env.Kubectl(t, "", "-n", "kubesnap-system", "create", "secret", "generic", "kubesnap-digest-key", "--from-literal=key="+key)
	t.Cleanup(func() { _, _ = env.KubectlErr("", "-n", "kubesnap-system", "delete", "secret", "kubesnap-digest-key") })
	keyFile := filepath.Join(t.TempDir(), "digest.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	if out := mustSnapshot(t, repo, "--include-namespaces", ns, "--digest-key", keyFile); !strings.HasPrefix(out, "no changes") {
		t.Errorf("the same key from a file changed the digests: %s", out)
	}
	if out := mustSnapshot(t, repo, "--include-namespaces", ns, "--digest-key-secret", "kubesnap-system/kubesnap-digest-key"); !strings.HasPrefix(out, "no changes") {
		t.Errorf("the same key named explicitly changed the digests: %s", out)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(other, []byte("another key of 32 bytes at least"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustSnapshot(t, repo, "--include-namespaces", ns, "--digest-key", other); strings.HasPrefix(out, "no changes") {
		t.Errorf("another key left the digests as they were: %s", out)
	}
}

// TestSecretsRestoreDecryptsWithTheIdentity: without a key restore skips
// encrypted Secrets and names them; a wrong key applies nothing and names
// the file; the right one brings the Secrets back byte for byte, without
// kubesnap's annotations.
func TestSecretsRestoreDecryptsWithTheIdentity(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "restore-canary")
	identity, recipient := ageKey(t)
	wrong, _ := ageKey(t)
	data := func(name string) string {
		return env.Kubectl(t, "", "-n", ns, "get", "secret", name, "-o", "jsonpath={.data}")
	}
	want := map[string]string{"db": data("db"), "api": data("api")}
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, append(scope, "--secrets", "encrypt", "--age-recipient", recipient)...)
	env.Kubectl(t, "", "-n", ns, "delete", "secret", "db", "api")

	restore := append([]string{"--repo", repo, "--rev", "HEAD"}, scope...)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	res := restoreJSON(t, 0, restore...)
	skipped := 0
	for _, o := range res.Plan.Objects {
		if o.Resource == "secrets" && (o.Name == "db" || o.Name == "api") {
			if o.Action != "skip" || !strings.Contains(o.Reason, "--age-identity") {
				t.Errorf("without a key, secret %s is %s (%s), want skip naming --age-identity", o.Name, o.Action, o.Reason)
			}
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("%d of the 2 encrypted Secrets in the plan", skipped)
	}
	out, errOut, _ := kubesnap(t, append([]string{"restore", "--dry-run", "--kubeconfig", env.Kubeconfig}, restore...)...)
	if out += errOut; !strings.Contains(out, "encrypted in git and no key given") || !strings.Contains(out, ns+"/db") {
		t.Errorf("the plan does not warn about the encrypted Secrets by name:\n%s", out)
	}

	_, errOut, code := kubesnap(t, append([]string{"restore", "--kubeconfig", env.Kubeconfig, "--age-identity", wrong}, restore...)...)
	errOut = strings.TrimSpace(errOut)
	if code == 0 || !strings.Contains(errOut, "secrets/db.yaml: cannot decrypt") || strings.Contains(errOut, "restore-canary") {
		t.Errorf("restore with the wrong key: exit %d, %q; want a failure naming the file", code, errOut)
	}
	if _, err := env.KubectlErr("", "-n", ns, "get", "secret", "db"); err == nil {
		t.Error("a restore that could not decrypt applied the Secret")
	}

	res = restoreJSON(t, 0, append(restore, "--age-identity", identity)...)
	for name, w := range want {
		if got := data(name); got != w {
			t.Errorf("secret %s restored with data %s, want %s", name, got, w)
		}
		ann := env.Kubectl(t, "", "-n", ns, "get", "secret", name, "-o", "jsonpath={.metadata.annotations}")
		if strings.Contains(ann, "kubesnap.io/") {
			t.Errorf("secret %s restored with kubesnap's annotations: %s", name, ann)
		}
	}
	// sops' own convention finds the key too; nothing left to do.
	t.Setenv("SOPS_AGE_KEY_FILE", identity)
	res = restoreJSON(t, 0, restore...)
	for _, o := range res.Plan.Objects {
		if o.Resource == "secrets" && (o.Name == "db" || o.Name == "api") && o.Action != "unchanged" {
			t.Errorf("second restore: secret %s is %s (%s), want unchanged", o.Name, o.Action, o.Reason)
		}
	}
}
