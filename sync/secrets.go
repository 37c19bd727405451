package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SecretMode says how the values of Secrets (and of the other sensitive
// types) reach the repository.
type SecretMode string

const (
	// SecretsRedact stores type, metadata and keys, every value replaced
	// by a marker, with a keyed digest of the values (the default).
	SecretsRedact SecretMode = "redact"
	// SecretsEncrypt stores the values encrypted for age recipients, in
	// the sops file format.
	SecretsEncrypt SecretMode = "encrypt"
	// SecretsSkip stores no Secrets at all.
	SecretsSkip SecretMode = "skip"
	// SecretsPlain stores them as the cluster has them.
	SecretsPlain SecretMode = "plain"
)

// SecretModes are the modes, for help texts.
var SecretModes = []SecretMode{SecretsRedact, SecretsEncrypt, SecretsSkip, SecretsPlain}

// ParseSecretMode reads a mode's name.
func ParseSecretMode(s string) (SecretMode, error) {
	for _, m := range SecretModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown secrets mode %q: use redact, encrypt, skip or plain", s)
}

// Sealer encrypts files (the encrypt mode).
type Sealer interface {
	// Seal encrypts the values of plain (canonical YAML of one object)
	// that lie under a key matching encryptedRegex.
	Seal(plain []byte, encryptedRegex string) ([]byte, error)
	// Recipients are the ones Seal encrypts for, sorted; a stored file
	// encrypted for others is encrypted again.
	Recipients() []string
}

// Secrets says how sensitive values are stored. The zero value redacts.
type Secrets struct {
	Mode SecretMode
	// Key keys the digest of the values that lets a redacted or encrypted
	// file change when a value does. It never reaches git.
	Key []byte
	// Sensitive are more types treated as Secrets are, in the
	// <resource>.<group> form (e.g. credentials.example.com).
	Sensitive []string
	// Sealer encrypts; required in the encrypt mode.
	Sealer Sealer
}

func (s Secrets) mode() SecretMode {
	if s.Mode == "" {
		return SecretsRedact
	}
	return s.Mode
}

// sensitive reports whether t's values are sensitive.
func (s Secrets) sensitive(t canonical.Type) bool {
	return t.Group == "" && t.Resource == "secrets" || slices.Contains(s.Sensitive, t.ResourceDir())
}

// Protection says what becomes of the sensitive values of objects of t:
// what Normalize is told about them.
func (s Secrets) Protection(t canonical.Type) canonical.Protection { return s.protection(t) }

func (s Secrets) protection(t canonical.Type) canonical.Protection {
	p := canonical.Protection{Key: s.Key}
	switch s.mode() {
	case SecretsEncrypt, SecretsPlain:
		p.Keep = true
	}
	if s.sensitive(t) && (t.Group != "" || t.Resource != "secrets") {
		p.Sensitive = map[schema.GroupKind]bool{{Group: t.Group, Kind: t.Kind}: true}
	}
	return p
}

// check says what is missing for the mode.
func (s Secrets) check() error {
	if s.mode() == SecretsEncrypt && s.Sealer == nil {
		return fmt.Errorf("secrets mode encrypt needs age recipients: give --age-recipient or --age-recipients-file")
	}
	return nil
}

// sealable prepares r, a normalized object of a sensitive type whose values
// were kept for encryption: r.cmp becomes its redacted form, which is what
// is compared with the repository, and r.seal the fields to encrypt. An
// object without values is stored as it is.
func (r *objectFile) sealable(enc *canonical.Encoder, obj *unstructured.Unstructured, p canonical.Protection) error {
	fields := canonical.SensitiveFields(obj, p.Sensitive)
	if fields == nil {
		return nil
	}
	red := obj.DeepCopy()
	if !canonical.Redact(red, fields) {
		return nil
	}
	cmp, err := enc.Marshal(red)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", r.path, err)
	}
	r.cmp, r.seal = cmp, canonical.EncryptedRegex(fields)
	return nil
}

// file returns the bytes r is stored as: encrypted when it must be
// sealed, or its redacted form when there is no sealer (a diff, which
// writes nothing and must show no value).
func (r objectFile) file(s Sealer) ([]byte, error) {
	if r.seal == "" {
		return r.data, nil
	}
	if s == nil {
		return r.cmp, nil
	}
	out, err := s.Seal(r.data, r.seal)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s: %w", r.path, err)
	}
	return out, nil
}

// storedFiles returns rd's files, path → blob id, except that in the
// encrypt mode a sensitive file encrypted for the current recipients maps
// to the blob id of its redacted form: the form live objects are compared
// in, so that an unchanged Secret is never encrypted again.
func storedFiles(ctx context.Context, rd Reader, s Secrets, sensitiveDirs map[string]bool, enc *canonical.Encoder) (map[string]string, error) {
	files, err := rd.Files(ctx)
	if err != nil || s.mode() != SecretsEncrypt || s.Sealer == nil {
		return files, err
	}
	want := strings.Join(s.Sealer.Recipients(), ",")
	for p := range files {
		id, err := canonical.ParsePath(p)
		if err != nil || !sensitiveDirs[id.ResourceDir()] {
			continue
		}
		data, err := rd.Read(ctx, p)
		if err != nil {
			return nil, err
		}
		red, recipients, ok := canonical.Sealed(data)
		if !ok || strings.Join(recipients, ",") != want {
			continue
		}
		if b, err := enc.Marshal(red); err == nil {
			files[p] = rd.BlobID(b)
		}
	}
	return files, nil
}

// sensitiveDirs are the resource dirs of the sensitive types.
func (s Secrets) sensitiveDirs() map[string]bool {
	dirs := map[string]bool{"secrets": true}
	for _, d := range s.Sensitive {
		dirs[d] = true
	}
	return dirs
}
