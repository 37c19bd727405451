package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/internal/kube"
	"github.com/kubesnap/kubesnap/internal/sops"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/pflag"
)

// digestKeySecrets are where the key of the Secret digests is looked for
// when --digest-key-secret is not given, in this order: the namespace of
// the in-cluster watcher (deploy/), so that a laptop's snapshot digests as
// the watcher does, then kube-system. A missing key is created in the first
// whose namespace exists.
var digestKeySecrets = []string{"kubesnap-system/kubesnap-digest-key", "kube-system/kubesnap-digest-key"}

// secretFlags say how Secrets and other sensitive types are stored (write:
// snapshot and watch) or were stored (diff).
type secretFlags struct {
	mode            string
	recipients      []string
	recipientsFile  string
	sensitive       []string
	digestKeyFile   string
	digestKeySecret string
}

func (f *secretFlags) add(fs *pflag.FlagSet, write bool) {
	if write {
		fs.StringVar(&f.mode, "secrets", "redact", `how Secret values are stored: "redact" (keys and a keyed digest, no values), "encrypt" (sops file format, age), "skip" (no Secrets), "plain" (as they are: values in git)`)
		fs.StringArrayVar(&f.recipients, "age-recipient", nil, "age public key (age1…) to encrypt for with --secrets encrypt; repeatable")
		fs.StringVar(&f.recipientsFile, "age-recipients-file", "", "file of age public keys, one per line, for --secrets encrypt")
	} else {
		fs.StringVar(&f.mode, "secrets", "redact", `how the revision stores Secret values, as given to snapshot: redact, encrypt, skip or plain`)
	}
	fs.StringSliceVar(&f.sensitive, "sensitive-resources", nil, "more types whose values are treated as Secrets' (everything but metadata), <resource>.<group> form, comma-separated")
	fs.StringVar(&f.digestKeyFile, "digest-key", "", "file holding the key of the Secret digests (default: a Secret in the cluster, see --digest-key-secret)")
	fs.StringVar(&f.digestKeySecret, "digest-key-secret", "", "NAMESPACE/NAME of the Secret holding the key of the Secret digests, created when missing (default: "+strings.Join(digestKeySecrets, ", then ")+")")
}

// complete checks the flags and returns what they say, but the key.
func (f *secretFlags) complete() (snapsync.Secrets, error) {
	mode, err := snapsync.ParseSecretMode(f.mode)
	if err != nil {
		return snapsync.Secrets{}, usageError{fmt.Errorf("--secrets: %w", err)}
	}
	s := snapsync.Secrets{Mode: mode}
	for _, r := range f.sensitive {
		if r = strings.TrimSpace(r); r == "" || strings.ContainsAny(r, "/ ") {
			return s, usageError{fmt.Errorf("--sensitive-resources %q: give types in the <resource>.<group> form, e.g. credentials.example.com", r)}
		}
		s.Sensitive = append(s.Sensitive, r)
	}
	names := append([]string(nil), f.recipients...)
	if f.recipientsFile != "" {
		data, err := os.ReadFile(f.recipientsFile)
		if err != nil {
			return s, fmt.Errorf("--age-recipients-file: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				names = append(names, line)
			}
		}
	}
	if mode != snapsync.SecretsEncrypt {
		if len(names) > 0 {
			return s, usageError{errors.New("age recipients are for --secrets encrypt")}
		}
		return s, nil
	}
	if len(names) == 0 {
		return s, usageError{errors.New("--secrets encrypt needs the public keys to encrypt for: --age-recipient age1… or --age-recipients-file FILE")}
	}
	for _, n := range names {
		if _, err := sops.ParseRecipients([]string{n}); err != nil {
			return s, usageError{fmt.Errorf("age recipient %q is not a valid age public key (age1…)", n)}
		}
	}
	rs, err := sops.ParseRecipients(names)
	if err != nil {
		return s, usageError{err}
	}
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	sort.Strings(names)
	s.Sealer = sealer{names: names, seal: func(plain []byte, re string) ([]byte, error) {
		return sops.Encrypt(plain, rs, re, time.Now())
	}}
	return s, nil
}

// warn prints, on stderr, what the mode risks.
func (f *secretFlags) warn(w io.Writer, s snapsync.Secrets) {
	if s.Mode == snapsync.SecretsPlain {
		fmt.Fprintln(w, "warning: --secrets plain stores Secret values in git as the cluster has them; anyone who can read the repository can read them")
	}
}

// key fills in s.Key where the mode needs one: from --digest-key, or the
// cluster's Secret (created when missing and create is set). A caller who
// may not read the key's Secret (who usually may not read Secrets either)
// goes on without it: warn is told, and no digest is written.
func (f *secretFlags) key(ctx context.Context, s *snapsync.Secrets, cluster *kube.Cluster, create bool, warn func(string)) error {
	err := f.readKey(ctx, s, cluster, create)
	if errors.Is(err, kube.ErrDigestKeyForbidden) {
		warn(err.Error() + "; Secrets are stored without the digest of their values")
		s.Key = nil
		return nil
	}
	return err
}

func (f *secretFlags) readKey(ctx context.Context, s *snapsync.Secrets, cluster *kube.Cluster, create bool) error {
	if s.Mode != snapsync.SecretsRedact && s.Mode != snapsync.SecretsEncrypt {
		return nil
	}
	if f.digestKeyFile != "" {
		data, err := os.ReadFile(f.digestKeyFile)
		if err != nil {
			return fmt.Errorf("--digest-key: %w (make one with: head -c 32 /dev/urandom > FILE)", err)
		}
		if data = bytes.TrimSpace(data); len(data) < 16 {
			return fmt.Errorf("--digest-key %s: the key must be at least 16 bytes (make one with: head -c 32 /dev/urandom > FILE)", f.digestKeyFile)
		}
		s.Key = data
		return nil
	}
	if f.digestKeySecret != "" {
		ns, name, ok := strings.Cut(f.digestKeySecret, "/")
		if !ok || ns == "" || name == "" {
			return usageError{fmt.Errorf("--digest-key-secret %q: give NAMESPACE/NAME", f.digestKeySecret)}
		}
		key, err := cluster.DigestKey(ctx, ns, name, create)
		s.Key = key
		return err
	}
	for _, where := range digestKeySecrets {
		ns, name, _ := strings.Cut(where, "/")
		key, err := cluster.DigestKey(ctx, ns, name, false)
		if !errors.Is(err, kube.ErrNoDigestKey) {
			s.Key = key
			return err
		}
	}
	if !create {
		return fmt.Errorf("%w: neither %s; run 'kubesnap snapshot' once with rights to create it, or give the key with --digest-key FILE", kube.ErrNoDigestKey, strings.Join(digestKeySecrets, " nor "))
	}
	var err error
	for _, where := range digestKeySecrets {
		ns, name, _ := strings.Cut(where, "/")
		if s.Key, err = cluster.DigestKey(ctx, ns, name, true); !errors.Is(err, kube.ErrNoNamespace) {
			return err
		}
	}
	return err
}

// sealer encrypts for age recipients in the sops file format.
type sealer struct {
	names []string
	seal  func(plain []byte, encryptedRegex string) ([]byte, error)
}

func (s sealer) Seal(plain []byte, re string) ([]byte, error) { return s.seal(plain, re) }
func (s sealer) Recipients() []string                         { return s.names }

// identityFlag is --age-identity, for the commands that decrypt.
func identityFlag(fs *pflag.FlagSet, p *string, what string) {
	fs.StringVar(p, "age-identity", "", "age identity file (as age-keygen writes it) to decrypt "+what+" (default: the file SOPS_AGE_KEY_FILE names, as sops reads it)")
}

// unsealer returns what decrypts encrypted files with the identities of
// path, or of SOPS_AGE_KEY_FILE when path is ""; nil when neither is given.
func unsealer(path string) (snapsync.Unseal, error) {
	from := "--age-identity"
	if path == "" {
		path, from = os.Getenv("SOPS_AGE_KEY_FILE"), "SOPS_AGE_KEY_FILE"
	}
	if path == "" {
		return nil, nil
	}
	ids, err := sops.ReadIdentities(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", from, path, err)
	}
	return func(data []byte) ([]byte, error) { return sops.Decrypt(data, ids) }, nil
}
