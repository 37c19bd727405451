package sops

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// formatVersion is the sops release whose file format this package writes
// and whose binary its tests run; sops records it in the version field.
// Keep it in step with SOPS_VERSION in the Makefile.
const formatVersion = "3.13.3"

// dataKeySize is the length of the AES-256 key that encrypts the values.
const dataKeySize = 32

// ageKey is one entry of the age list: the data key encrypted for one
// recipient, as an armored age file. The fields are in the order sops
// writes them (sorted).
type ageKey struct {
	Enc       string `yaml:"enc"`
	Recipient string `yaml:"recipient"`
}

// written is the sops key as Encrypt writes it, fields sorted by name as
// sops sorts them.
type written struct {
	Age            []ageKey `yaml:"age"`
	EncryptedRegex string   `yaml:"encrypted_regex"`
	LastModified   string   `yaml:"lastmodified"`
	MAC            string   `yaml:"mac"`
	Version        string   `yaml:"version"`
}

// metadata is the sops key as Decrypt reads it, from sops or from Encrypt.
type metadata struct {
	Age       []ageKey `yaml:"age"`
	KeyGroups []struct {
		Age []ageKey `yaml:"age"`
	} `yaml:"key_groups"`
	ShamirThreshold int `yaml:"shamir_threshold"`

	// Master keys of other kinds, only to say that the file has some.
	PGP     []any `yaml:"pgp"`
	KMS     []any `yaml:"kms"`
	GCPKMS  []any `yaml:"gcp_kms"`
	HCKMS   []any `yaml:"hckms"`
	AzureKV []any `yaml:"azure_kv"`
	Vault   []any `yaml:"hc_vault"`

	LastModified string `yaml:"lastmodified"`
	MAC          string `yaml:"mac"`
	Version      string `yaml:"version"`

	UnencryptedSuffix       string `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string `yaml:"encrypted_suffix"`
	UnencryptedRegex        string `yaml:"unencrypted_regex"`
	EncryptedRegex          string `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool   `yaml:"mac_only_encrypted"`
}

// defaultUnencryptedSuffix is the rule sops applies to a file that names
// none.
const defaultUnencryptedSuffix = "_unencrypted"

// rules returns the file's encryption rules. Like sops, it refuses a file
// naming more than one.
func (m *metadata) rules() (*rules, error) {
	r := &rules{
		unencryptedSuffix: m.UnencryptedSuffix,
		encryptedSuffix:   m.EncryptedSuffix,
		macOnlyEncrypted:  m.MACOnlyEncrypted,
	}
	set := 0
	for _, s := range []string{m.UnencryptedSuffix, m.EncryptedSuffix} {
		if s != "" {
			set++
		}
	}
	for _, re := range []struct {
		field, expr string
		dst         **regexp.Regexp
	}{
		{"unencrypted_regex", m.UnencryptedRegex, &r.unencryptedRegex},
		{"encrypted_regex", m.EncryptedRegex, &r.encryptedRegex},
		{"unencrypted_comment_regex", m.UnencryptedCommentRegex, &r.unencryptedCommentRegex},
		{"encrypted_comment_regex", m.EncryptedCommentRegex, &r.encryptedCommentRegex},
	} {
		if re.expr == "" {
			continue
		}
		set++
		c, err := regexp.Compile(re.expr)
		if err != nil {
			return nil, fmt.Errorf("sops metadata: %s %q is not a regular expression", re.field, re.expr)
		}
		*re.dst = c
	}
	if set > 1 {
		return nil, errors.New("sops metadata names more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex and encrypted_comment_regex, which sops refuses")
	}
	if set == 0 {
		r.unencryptedSuffix = defaultUnencryptedSuffix
	}
	return r, nil
}

// ageKeys returns the age entries that hold the whole data key.
func (m *metadata) ageKeys() ([]ageKey, error) {
	others := m.otherKinds()
	// As in sops, master keys at the top level make one key group and
	// key_groups is then ignored.
	keys := m.Age
	if len(keys) == 0 && len(others) == 0 {
		switch len(m.KeyGroups) {
		case 0:
		case 1:
			keys = m.KeyGroups[0].Age
		default:
			return nil, fmt.Errorf("the file splits its data key over %d key groups (Shamir secret sharing), which kubesnap does not support", len(m.KeyGroups))
		}
	}
	if len(keys) == 0 {
		if len(others) > 0 {
			return nil, fmt.Errorf("the file's data key is encrypted for %s only, and kubesnap decrypts with age keys only", strings.Join(others, ", "))
		}
		return nil, errors.New("the file's sops metadata holds no age recipient")
	}
	return keys, nil
}

func (m *metadata) otherKinds() []string {
	var kinds []string
	for _, k := range []struct {
		name string
		n    int
	}{{"pgp", len(m.PGP)}, {"kms", len(m.KMS)}, {"gcp_kms", len(m.GCPKMS)}, {"hckms", len(m.HCKMS)}, {"azure_kv", len(m.AzureKV)}, {"hc_vault", len(m.Vault)}} {
		if k.n > 0 {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// ErrNoIdentity is returned by Decrypt when none of the identities given
// decrypts the file's data key.
var ErrNoIdentity = errors.New("no age identity matches any recipient of this file: give the key with --age-identity FILE or SOPS_AGE_KEY_FILE")

// openDataKey decrypts the data key with the first age entry one of ids
// opens.
func openDataKey(keys []ageKey, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, ErrNoIdentity
	}
	var firstErr error
	for _, k := range keys {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(k.Enc)), ids...)
		if err == nil {
			var key []byte
			key, err = io.ReadAll(io.LimitReader(r, dataKeySize+1))
			if err == nil && len(key) != dataKeySize {
				err = fmt.Errorf("it holds %d bytes, not %d", len(key), dataKeySize)
			}
			if err == nil {
				return key, nil
			}
		}
		var noMatch *age.NoIdentityMatchError
		if !errors.As(err, &noMatch) && firstErr == nil {
			firstErr = fmt.Errorf("decrypt the data key for age recipient %s: %w", k.Recipient, err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, ErrNoIdentity
}

// newDataKey returns a fresh data key and its encryption for each
// recipient, each an armored age file as sops writes it.
func newDataKey(recipients []age.Recipient) ([]byte, []ageKey, error) {
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("generate data key: %w", err)
	}
	keys := make([]ageKey, 0, len(recipients))
	for i, r := range recipients {
		s, ok := r.(fmt.Stringer)
		if !ok {
			return nil, nil, fmt.Errorf("age recipient %d (%T) has no text form for the file's metadata", i+1, r)
		}
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r)
		if err == nil {
			_, err = w.Write(key)
		}
		if err == nil {
			err = w.Close()
		}
		if err == nil {
			err = aw.Close()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("encrypt the data key for age recipient %s: %w", s.String(), err)
		}
		keys = append(keys, ageKey{Enc: buf.String(), Recipient: s.String()})
	}
	return key, keys, nil
}

// lastModified formats t as sops does: RFC 3339 to the second. The MAC is
// bound to this exact text.
func lastModified(t time.Time) string {
	return t.Format(time.RFC3339)
}
