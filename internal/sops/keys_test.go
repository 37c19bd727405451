package sops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestParseRecipients(t *testing.T) {
	id := newIdentity(t)
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String(), " " + pq.Recipient().String() + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d recipients, want 2", len(rs))
	}
	// The hybrid recipient encrypts and its identity decrypts.
	enc, err := Encrypt([]byte(secretDoc), rs[1:], secretRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(enc, []age.Identity{pq}); err != nil {
		t.Errorf("decrypt with the hybrid identity: %v", err)
	}

	for _, tc := range []struct {
		name, in, errMsg string
	}{
		{"a truncated key", "age1qqqq", "age recipient 1 is not a valid age1… public key"},
		{"a secret key", id.String(), "age recipient 1 is an age secret key, not a recipient: give its public key (age-keygen -y)"},
		{"an ssh key", "ssh-ed25519 AAAAC3Nza", "age recipient 1 is an SSH key: give an age1… public key"},
		{"a plugin", "age1yubikey1qqqqqqq", "age recipient 1 is an age plugin recipient, which kubesnap does not support"},
		{"garbage", "hello", "age recipient 1 is not an age public key (age1…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRecipients([]string{tc.in})
			if err == nil {
				t.Fatal("ParseRecipients succeeded")
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
		})
	}
	if _, err := ParseRecipients(nil); err == nil || err.Error() != "no age recipient given" {
		t.Errorf("ParseRecipients(nil) error = %v", err)
	}
}

func TestReadRecipients(t *testing.T) {
	dir := t.TempDir()
	one, two := newIdentity(t), newIdentity(t)
	good := filepath.Join(dir, "good")
	write(t, good, "# team keys\n"+one.Recipient().String()+"\n\n  "+two.Recipient().String()+"  \r\n")
	rs, err := ReadRecipients(good)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encrypt([]byte(secretDoc), rs, secretRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(enc, []age.Identity{two}); err != nil {
		t.Errorf("the second recipient of the file cannot decrypt: %v", err)
	}

	bad := filepath.Join(dir, "bad")
	write(t, bad, one.Recipient().String()+"\n"+one.String()+"\n")
	_, err = ReadRecipients(bad)
	if want := bad + " line 2 is an age secret key, not a recipient: give its public key (age-keygen -y)"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	empty := filepath.Join(dir, "empty")
	write(t, empty, "# nobody\n")
	if _, err := ReadRecipients(empty); err == nil || err.Error() != empty+" holds no age recipient" {
		t.Errorf("error = %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ReadRecipients(missing); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want a wrapped ErrNotExist", err)
	}
}

func TestReadIdentities(t *testing.T) {
	dir := t.TempDir()
	id := newIdentity(t)
	good := filepath.Join(dir, "keys.txt")
	// What age-keygen writes.
	write(t, good, "# created: 2026-03-04T05:06:07Z\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n")
	ids, err := ReadIdentities(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(encrypt(t, secretDoc, id), ids); err != nil {
		t.Errorf("decrypt with the identities read: %v", err)
	}

	secret := id.String()
	for _, tc := range []struct {
		name, content, errMsg string
	}{
		{"a damaged key", "# key\n" + secret[:len(secret)-2] + "\n", " line 2 is a malformed AGE-SECRET-KEY-1… identity"},
		{"a public key", id.Recipient().String() + "\n", " line 1 is not an age identity (AGE-SECRET-KEY-1…)"},
		{"a plugin identity", "AGE-PLUGIN-YUBIKEY-1QQQQ\n", " line 1 is an age plugin identity, which kubesnap does not support"},
		{"no identity", "# nothing here\n\n", " holds no age identity (AGE-SECRET-KEY-1…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys.txt")
			write(t, p, tc.content)
			_, err := ReadIdentities(p)
			if err == nil {
				t.Fatal("ReadIdentities succeeded")
			}
			if err.Error() != p+tc.errMsg {
				t.Errorf("error = %q, want %q", err, p+tc.errMsg)
			}
			if strings.Contains(err.Error(), secret[len("AGE-SECRET-KEY-1"):20]) {
				t.Errorf("error %q holds part of the secret key", err)
			}
		})
	}
	t.Run("an unreadable file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.txt")
		_, err := ReadIdentities(p)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "read age identities: ") {
			t.Errorf("error = %v, want a wrapped ErrNotExist", err)
		}
		dir := t.TempDir()
		if _, err := ReadIdentities(dir); err == nil {
			t.Error("ReadIdentities of a folder succeeded")
		}
	})
}
