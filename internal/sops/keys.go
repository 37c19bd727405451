package sops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
)

// ParseRecipients parses age public keys: X25519 ("age1…", what age-keygen
// prints) and post-quantum hybrid ("age1pq1…") ones, both of which sops
// reads. Surrounding spaces are ignored. An error names the position of the
// bad string but never the string, which could be a secret key given by
// mistake.
func ParseRecipients(s []string) ([]age.Recipient, error) {
	if len(s) == 0 {
		return nil, errors.New("no age recipient given")
	}
	out := make([]age.Recipient, 0, len(s))
	for i, r := range s {
		rec, err := parseRecipient(strings.TrimSpace(r))
		if err != nil {
			return nil, fmt.Errorf("age recipient %d %w", i+1, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// RecipientText is r as age-keygen prints it, and as Encrypt writes it in
// a file's metadata.
func RecipientText(r age.Recipient) string {
	if s, ok := r.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

// ReadRecipients reads a recipients file as age -R does: one public key a
// line, blank lines and lines starting with # ignored. It fails on a file
// with no recipient.
func ReadRecipients(path string) ([]age.Recipient, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read age recipients: %w", err)
	}
	var out []age.Recipient
	for n, line := range lines(data) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d %w", path, n, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no age recipient", path)
	}
	return out, nil
}

// ReadIdentities reads an age identity file: what age-keygen writes and
// sops reads from SOPS_AGE_KEY_FILE, one secret key a line
// ("AGE-SECRET-KEY-1…" or "AGE-SECRET-KEY-PQ-1…"), blank lines and lines
// starting with # ignored. It fails on a file with no identity. Its errors
// name the file and line, never the line's text.
func ReadIdentities(path string) ([]age.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read age identities: %w", err)
	}
	var out []age.Identity
	for n, line := range lines(data) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := parseIdentity(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d %w", path, n, err)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no age identity (AGE-SECRET-KEY-1…)", path)
	}
	return out, nil
}

// lines yields the trimmed lines of data with their 1-based numbers.
func lines(data []byte) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if !yield(n, strings.TrimSpace(sc.Text())) {
				return
			}
		}
	}
}

// ParseRecipient parses one age public key as ParseRecipients does. Its
// error says what s is ("is an age secret key, …"), to follow the name of
// the argument s came from, and never quotes s.
func ParseRecipient(s string) (age.Recipient, error) {
	return parseRecipient(strings.TrimSpace(s))
}

func parseRecipient(s string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"):
		return nil, errors.New("is an age secret key, not a recipient: give its public key (age-keygen -y)")
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, errors.New("is not a valid age1pq1… public key")
		}
		return r, nil
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		// age1<plugin>1…: sops would run an age plugin binary. (Bech32
		// data has no "1", so an X25519 key has one only.)
		return nil, errors.New("is an age plugin recipient, which kubesnap does not support")
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, errors.New("is not a valid age1… public key")
		}
		return r, nil
	case strings.HasPrefix(s, "ssh-"):
		return nil, errors.New("is an SSH key: give an age1… public key")
	default:
		return nil, errors.New("is not an age public key (age1…)")
	}
}

func parseIdentity(s string) (age.Identity, error) {
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1"):
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			return nil, errors.New("is a malformed AGE-SECRET-KEY-PQ-1… identity")
		}
		return id, nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		id, err := age.ParseX25519Identity(s)
		if err != nil {
			return nil, errors.New("is a malformed AGE-SECRET-KEY-1… identity")
		}
		return id, nil
	case strings.HasPrefix(s, "AGE-PLUGIN-"):
		return nil, errors.New("is an age plugin identity, which kubesnap does not support")
	default:
		return nil, errors.New("is not an age identity (AGE-SECRET-KEY-1…)")
	}
}
