package sops

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// sopsBinary returns the sops the Makefile builds. Without it the test is
// skipped, or fails under make test.
func sopsBinary(t *testing.T) string {
	t.Helper()
	bin := testenv.Binary("sops")
	if _, err := os.Stat(bin); err != nil {
		msg := "sops " + testenv.SopsVersion + " is not built (" + bin + " missing): run 'make testbin'"
		if os.Getenv(testenv.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (make test never skips this)")
	}
	return bin
}

// runSops runs sops on content written to a file, with the identities in
// SOPS_AGE_KEY_FILE and no other key source, and returns its output.
func runSops(t *testing.T, content []byte, ids []*age.X25519Identity, args ...string) ([]byte, error) {
	t.Helper()
	bin := sopsBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "object.yaml")
	write(t, file, string(content))
	var keys strings.Builder
	for _, id := range ids {
		keys.WriteString("# public key: " + id.Recipient().String() + "\n" + id.String() + "\n")
	}
	keyFile := filepath.Join(dir, "keys.txt")
	write(t, keyFile, keys.String())
	cmd := exec.CommandContext(t.Context(), bin, append(args, file)...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + dir,
		"SOPS_AGE_KEY_FILE=" + keyFile,
		"SOPS_DISABLE_VERSION_CHECK=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &sopsError{err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type sopsError struct {
	err    error
	stderr string
}

func (e *sopsError) Error() string {
	return "sops: " + e.err.Error() + ": " + strings.TrimSpace(e.stderr)
}

var yamlIO = []string{"--input-type", "yaml", "--output-type", "yaml"}

func parseYAML(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return v
}

// commentLines returns a document's comment lines, wherever they are,
// sorted: sops moves comments (a comment after a value goes above it).
func commentLines(t *testing.T, doc []byte) []string {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			for _, l := range strings.Split(c, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					out = append(out, l)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	slices.Sort(out)
	return out
}

// TestSopsDecryptsEncrypt: what Encrypt writes, sops --decrypt reads.
func TestSopsDecryptsEncrypt(t *testing.T) {
	sopsBinary(t)
	one, two := newIdentity(t), newIdentity(t)
	docs := map[string]string{"secret": secretDoc, "comments": commentDoc, "mixed": mixedDoc}
	golden, err := filepath.Glob("../../canonical/testdata/*/want.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range golden {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs["canonical "+filepath.Base(filepath.Dir(f))] = string(b)
	}
	for name, doc := range docs {
		for _, re := range []string{secretRegex, "."} {
			t.Run(name+" "+re, func(t *testing.T) {
				enc, err := Encrypt([]byte(doc), []age.Recipient{one.Recipient(), two.Recipient()}, re, now)
				if err != nil {
					t.Fatal(err)
				}
				// The second recipient's key alone decrypts.
				got, err := runSops(t, enc, []*age.X25519Identity{two}, append([]string{"--decrypt"}, yamlIO...)...)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(parseYAML(t, []byte(doc)), parseYAML(t, got)); diff != "" {
					t.Errorf("sops --decrypt (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(commentLines(t, []byte(doc)), commentLines(t, got)); diff != "" {
					t.Errorf("comments after sops --decrypt (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("a wrong key", func(t *testing.T) {
		enc := encrypt(t, secretDoc, one)
		if _, err := runSops(t, enc, []*age.X25519Identity{two}, append([]string{"--decrypt"}, yamlIO...)...); err == nil {
			t.Error("sops decrypted with a key that is not a recipient")
		}
	})
	t.Run("a changed value in clear", func(t *testing.T) {
		enc := strings.Replace(string(encrypt(t, secretDoc, one)), "name: demo", "name: evil", 1)
		_, err := runSops(t, []byte(enc), []*age.X25519Identity{one}, append([]string{"--decrypt"}, yamlIO...)...)
		if err == nil || !strings.Contains(err.Error(), "MAC mismatch") {
			t.Errorf("sops --decrypt of a changed file: %v, want a MAC mismatch", err)
		}
	})
}

// commentDoc has comments in every place sops's YAML store distinguishes.
const commentDoc = `# head of the document
apiVersion: v1
# above data
data:
  # above password
  password: c2VjcmV0 # after password
  # below password
  list:
    # above the first item
    - first # after the first item
    # between items
    - nested: value
      # inside an item
      other: value2
    # after the last item
  map:
    # inside the map
    key: value
kind: Secret
metadata:
  name: commented # clear comment
# foot of the document
`

// mixedDoc has its keys out of order (as a hand-written file may), every
// scalar type, and sensitive keys at several depths.
const mixedDoc = `kind: Thing
apiVersion: example.com/v1
metadata:
  name: mixed
  labels:
    zone: b
    app: a
spec:
  replicas: 3
  ratio: 0.25
  enabled: true
  nothing: null
  empty: ""
  text: |
    multi
    line
  data:
    z: last
    a: first
    n: 7
  token_unencrypted: keep-me
  password_secret: hidden
  items:
    - name: one
      data: inside-a-list
    - 42
    - false
data:
  top: secret-top
`

// TestDecryptReadsSops: what sops --encrypt writes, Decrypt reads, under
// each of sops's encryption rules.
func TestDecryptReadsSops(t *testing.T) {
	sopsBinary(t)
	one, two := newIdentity(t), newIdentity(t)
	recipients := one.Recipient().String() + "," + two.Recipient().String()
	for _, tc := range []struct {
		name string
		doc  string
		args []string
		// macCoversName says that metadata.name is in clear and in the
		// MAC, so that changing it must fail the MAC.
		macCoversName bool
	}{
		{"a Secret with kubesnap's regex", secretDoc, []string{"--encrypted-regex", secretRegex}, true},
		{"comments with kubesnap's regex", commentDoc, []string{"--encrypted-regex", secretRegex}, true},
		{"unordered keys with kubesnap's regex", mixedDoc, []string{"--encrypted-regex", secretRegex}, true},
		{"no rule: all but _unencrypted", mixedDoc, nil, false},
		{"no rule, with comments", commentDoc, nil, false},
		{"unencrypted_regex", mixedDoc, []string{"--unencrypted-regex", "^(apiVersion|kind|metadata)$"}, true},
		{"encrypted_suffix", mixedDoc, []string{"--encrypted-suffix", "_secret"}, true},
		{"unencrypted_suffix", mixedDoc, []string{"--unencrypted-suffix", "s"}, false},
		{"mac_only_encrypted", mixedDoc, []string{"--encrypted-regex", secretRegex, "--mac-only-encrypted"}, false},
		{"encrypted_comment_regex", commentDoc, []string{"--encrypted-comment-regex", "above"}, true},
		{"unencrypted_comment_regex", commentDoc, []string{"--unencrypted-comment-regex", "above"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"--encrypt", "--age", recipients}, tc.args...), yamlIO...)
			enc, err := runSops(t, []byte(tc.doc), nil, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !IsEncrypted(enc) {
				t.Fatalf("IsEncrypted(sops's file) = false:\n%s", enc)
			}
			got, err := Decrypt(enc, []age.Identity{two})
			if err != nil {
				t.Fatalf("Decrypt: %v\n%s", err, enc)
			}
			if diff := cmp.Diff(parseYAML(t, []byte(tc.doc)), parseYAML(t, got)); diff != "" {
				t.Errorf("Decrypt (-want +got):\n%s", diff)
			}
			// sops itself agrees on the comments.
			want, err := runSops(t, enc, []*age.X25519Identity{one}, append([]string{"--decrypt"}, yamlIO...)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(commentLines(t, want), commentLines(t, got)); diff != "" {
				t.Errorf("comments (-sops --decrypt +Decrypt):\n%s", diff)
			}
			// Changing a value sops left in clear fails the MAC, unless
			// mac_only_encrypted leaves it out.
			name := regexp.MustCompile(`(?m)^    name: [a-z]+`)
			changed := name.ReplaceAll(enc, []byte("    name: changed"))
			macOnly := slices.Contains(tc.args, "--mac-only-encrypted")
			if (tc.macCoversName || macOnly) && bytes.Equal(changed, enc) {
				t.Fatalf("metadata.name is not in clear in sops's file:\n%s", enc)
			}
			if tc.macCoversName {
				if _, err := Decrypt(changed, []age.Identity{one}); err == nil || err.Error() != "MAC mismatch: the file was changed after encryption" {
					t.Errorf("Decrypt of a changed file: %v, want a MAC mismatch", err)
				}
			}
			if macOnly {
				if _, err := Decrypt(changed, []age.Identity{one}); err != nil {
					t.Errorf("Decrypt of a file changed outside its MAC: %v", err)
				}
			}
		})
	}
}

// TestFormatVersion keeps the version Encrypt records in step with the sops
// the tests run.
func TestFormatVersion(t *testing.T) {
	if want := strings.TrimPrefix(testenv.SopsVersion, "v"); formatVersion != want {
		t.Errorf("formatVersion = %s, want %s (testenv.SopsVersion)", formatVersion, want)
	}
}
