package sops

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestDecryptFailures(t *testing.T) {
	id := newIdentity(t)
	enc := string(encrypt(t, secretDoc, id))
	encValues := regexp.MustCompile(`ENC\[AES256_GCM[^\]]*\]`).FindAllString(enc, -1)
	for _, tc := range []struct {
		name   string
		doc    string
		ids    []age.Identity
		is     error
		errMsg string
	}{
		{
			name:   "a wrong identity is refused",
			doc:    enc,
			ids:    []age.Identity{newIdentity(t)},
			is:     ErrNoIdentity,
			errMsg: "no age identity matches any recipient of this file: give the key with --age-identity FILE or SOPS_AGE_KEY_FILE",
		},
		{
			name:   "no identity at all is refused",
			doc:    enc,
			is:     ErrNoIdentity,
			errMsg: ErrNoIdentity.Error(),
		},
		{
			name:   "a changed value in clear fails the MAC",
			doc:    strings.Replace(enc, "app.kubernetes.io/name: demo", "app.kubernetes.io/name: evil", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a changed int in clear fails the MAC",
			doc:    strings.Replace(enc, "generation: 3", "generation: 4", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a removed value fails the MAC",
			doc:    strings.Replace(enc, "type: Opaque\n", "", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a changed lastmodified fails the MAC",
			doc:    strings.Replace(enc, "2026-03-04T05:06:07Z", "2026-03-04T05:06:08Z", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption (its mac or lastmodified was altered)",
		},
		{
			name:   "encrypted values swapped between keys do not decrypt",
			doc:    strings.NewReplacer(encValues[0], encValues[1], encValues[1], encValues[0]).Replace(enc),
			is:     ErrModified,
			errMsg: "the value at data.password does not decrypt: the file was changed after encryption",
		},
		{
			name:   "a changed ciphertext does not decrypt",
			doc:    strings.Replace(enc, encValues[0], strings.Replace(encValues[0], "data:", "data:AAAA", 1), 1),
			is:     ErrModified,
			errMsg: "the value at data.password does not decrypt: the file was changed after encryption",
		},
		{
			name:   "a value put in clear under an encrypted key is refused",
			doc:    strings.Replace(enc, encValues[0], "cGxhaW4tdGV4dC12YWx1ZQ==", 1),
			is:     ErrModified,
			errMsg: "the value at data.password is in clear, though the file's rules encrypt it: the file was changed after encryption",
		},
		{
			name:   "a plain document is not a SOPS file",
			doc:    secretDoc,
			is:     ErrNotEncrypted,
			errMsg: "not a SOPS file: it has no top-level sops key with a mac",
		},
		{
			name:   "a sops key without a mac is not a SOPS file",
			doc:    "a: b\nsops:\n  version: 3.13.3\n",
			is:     ErrNotEncrypted,
			errMsg: "not a SOPS file: it has no top-level sops key with a mac",
		},
		{
			name:   "a file without age entries is refused",
			doc:    regexp.MustCompile(`(?s)  age:\n.*?  encrypted_regex`).ReplaceAllString(enc, "  encrypted_regex"),
			errMsg: "the file's sops metadata holds no age recipient",
		},
		{
			name:   "a file for pgp keys only is refused",
			doc:    regexp.MustCompile(`(?s)  age:\n.*?  encrypted_regex`).ReplaceAllString(enc, "  pgp:\n    - fp: ABCD\n      enc: x\n      created_at: \"2026-03-04T05:06:07Z\"\n  encrypted_regex"),
			errMsg: "the file's data key is encrypted for pgp only, and kubesnap decrypts with age keys only",
		},
		{
			name:   "two rules are refused, as sops refuses them",
			doc:    strings.Replace(enc, "  encrypted_regex:", "  unencrypted_suffix: _clear\n  encrypted_regex:", 1),
			errMsg: "sops metadata names more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex and encrypted_comment_regex, which sops refuses",
		},
		{
			name:   "two documents are refused",
			doc:    enc + "---\na: b\n",
			errMsg: "the file holds more than one YAML document",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := tc.ids
			if ids == nil && tc.is != ErrNoIdentity {
				ids = []age.Identity{id}
			}
			_, err := Decrypt([]byte(tc.doc), ids)
			if err == nil {
				t.Fatal("Decrypt succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %q", err, tc.is)
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, v := range secretValues {
		if strings.Contains(s, v) {
			t.Errorf("%q holds the secret %q", s, v)
		}
	}
}

func TestEncryptFailures(t *testing.T) {
	r := newIdentity(t).Recipient()
	enc := encrypt(t, secretDoc, newIdentity(t))
	for _, tc := range []struct {
		name       string
		doc        string
		recipients []age.Recipient
		regex      string
		errMsg     string
	}{
		{"no recipient", secretDoc, nil, secretRegex, "encrypt: no age recipient given"},
		{"an empty regex", secretDoc, []age.Recipient{r}, "", "encrypt: the encrypted regex is empty"},
		{"a bad regex", secretDoc, []age.Recipient{r}, "^(data", `encrypt: encrypted regex "^(data" is not a regular expression`},
		{"an encrypted file", string(enc), []age.Recipient{r}, secretRegex, "encrypt: the document already has a top-level sops key (it is a SOPS file already)"},
		{"a list", "- a\n- b\n", []age.Recipient{r}, secretRegex, "the document is not a YAML mapping"},
		{"an empty document", "", []age.Recipient{r}, secretRegex, "the document is empty"},
		{"an alias", "a: &x {b: c}\nd: *x\n", []age.Recipient{r}, secretRegex, "the value at d is a YAML alias: aliases are not supported"},
		{"a duplicate key", "data:\n  a: password-that-is-secret\n  a: x\n", []age.Recipient{r}, secretRegex, `key "a" appears twice in data`},
		{"a non-string key", "data:\n  1: password-that-is-secret\n", []age.Recipient{r}, secretRegex, "key 1 in data is a int, and sops supports string keys only"},
		{"a value beyond int64", "data:\n  a: 18446744073709551615\n", []age.Recipient{r}, secretRegex, "encrypt the value at data.a: a value of type uint64 cannot be encrypted"},
		{"a bad tag", "data:\n  a: !!int password-that-is-secret\n", []age.Recipient{r}, secretRegex, "read the value at data.a: its YAML tag does not fit it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encrypt([]byte(tc.doc), tc.recipients, tc.regex, now)
			if err == nil {
				t.Fatal("Encrypt succeeded")
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
			assertNoSecret(t, err.Error())
		})
	}
}
