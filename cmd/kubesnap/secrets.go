package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/internal/sops"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/pflag"
)

// secretFlags say how Secrets and other sensitive types are stored (write:
// snapshot and watch) or were stored (diff).
type secretFlags struct {
	mode            string
	recipients      []string
	recipientsFile  string
	sensitive       []string
	digestKeyFile   string
	digestKeySecret string
	allowStale      bool
	fs              *pflag.FlagSet // to tell a flag from the configuration file in errors
}

// publicKeyLooks says what an age public key looks like, for errors that
// must not quote what was given instead.
const publicKeyLooks = "an age public key is age1 and 58 more letters and digits, as age-keygen -y IDENTITY-FILE prints it"

// keyLike reports whether s, given where a file name is expected, is an
// age secret key itself: it must then not be quoted in an error.
func keyLike(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "AGE-SECRET-KEY-") || strings.HasPrefix(s, "AGE-PLUGIN-")
}

func (f *secretFlags) add(fs *pflag.FlagSet, write bool) {
	if write {
		fs.StringVar(&f.mode, "secrets", "redact", `how Secret values are stored: "redact" (keys and a keyed digest, no values), "encrypt" (sops file format, age), "skip" (no Secrets), "plain" (as they are: values in git)`)
		fs.StringArrayVar(&f.recipients, "age-recipient", nil, "age public key (age1…) to encrypt for with --secrets encrypt; repeatable")
		fs.StringVar(&f.recipientsFile, "age-recipients-file", "", "file of age public keys, one per line, for --secrets encrypt")
	} else {
		fs.StringVar(&f.mode, "secrets", "redact", `how the revision stores Secret values, as given to snapshot: redact, encrypt, skip or plain`)
	}
	fs.StringSliceVar(&f.sensitive, "sensitive-resources", nil, "more types whose values are treated as Secrets' (everything but metadata), comma-separated: <resource>.<group> (credentials.example.com), or a resource or kind that names one served type; a name the server does not serve stops the command")
	fs.StringVar(&f.digestKeyFile, "digest-key", "", "file holding the key of the Secret digests (default: a Secret in the cluster, see --digest-key-secret)")
	fs.StringVar(&f.digestKeySecret, "digest-key-secret", "", "NAMESPACE/NAME of the Secret holding the key of the Secret digests, created when missing (default: "+strings.Join(digestKeySecrets, ", then ")+")")
	fs.BoolVar(&f.allowStale, "allow-stale-secrets", false, "go on when the digest key cannot be read: a Secret value that changes while its keys stay the same then goes unseen, and git keeps the stale file")
	f.fs = fs
}

// sensitiveFlag names where --sensitive-resources came from, for errors.
func (f *secretFlags) sensitiveFlag() string {
	if f.fs != nil {
		if fl := f.fs.Lookup("sensitive-resources"); fl != nil && !fl.Changed {
			return "secrets.sensitiveResources (configuration file)"
		}
	}
	return "--sensitive-resources"
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
	if f.recipientsFile != "" && keyLike(f.recipientsFile) {
		return s, usageError{errors.New("--age-recipients-file takes the path of a file of public keys, and was given an age secret key: " + publicKeyLooks)}
	}
	if mode != snapsync.SecretsEncrypt {
		if len(f.recipients) > 0 || f.recipientsFile != "" {
			return s, usageError{errors.New("age recipients are for --secrets encrypt")}
		}
		return s, nil
	}
	keys, err := f.ageRecipients()
	if err != nil {
		return s, err
	}
	if len(keys) == 0 {
		return s, usageError{errors.New("--secrets encrypt needs the public keys to encrypt for: --age-recipient age1… or --age-recipients-file FILE")}
	}
	// The recipients' text, sorted: what a file's metadata lists, and
	// what tells whether a stored file is encrypted for them.
	sort.Strings(keys)
	rs, err := sops.ParseRecipients(keys)
	if err != nil { // in the order of keys
		return s, usageError{fmt.Errorf("age recipients: %v; %s", err, publicKeyLooks)}
	}
	s.Sealer = sealer{names: keys, seal: func(plain []byte, re string) ([]byte, error) {
		return sops.Encrypt(plain, rs, re, time.Now())
	}}
	return s, nil
}

// ageRecipients parses --age-recipient and reads --age-recipients-file,
// and returns each recipient as age-keygen prints it (sops.RecipientText).
// Errors name the argument or the file's line, never its text, which may
// be a secret key given by mistake.
func (f *secretFlags) ageRecipients() ([]string, error) {
	var rs []string
	for i, text := range f.recipients {
		where := "--age-recipient"
		if len(f.recipients) > 1 {
			where = fmt.Sprintf("--age-recipient number %d", i+1)
		}
		r, err := sops.ParseRecipient(text)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s %v; %s", where, err, publicKeyLooks)}
		}
		rs = append(rs, sops.RecipientText(r))
	}
	if f.recipientsFile == "" {
		return rs, nil
	}
	more, err := sops.ReadRecipients(f.recipientsFile)
	var unreadable *fs.PathError
	switch {
	case errors.As(err, &unreadable):
		return nil, fmt.Errorf("--age-recipients-file: %w", err)
	case err != nil: // "FILE line N is …" or "FILE holds no age recipient"
		return nil, usageError{fmt.Errorf("--age-recipients-file %v; %s", err, publicKeyLooks)}
	}
	for _, r := range more {
		rs = append(rs, sops.RecipientText(r))
	}
	return rs, nil
}

// warn prints, on stderr, what the mode risks.
func (f *secretFlags) warn(w io.Writer, s snapsync.Secrets) {
	if s.Mode == snapsync.SecretsPlain {
		fmt.Fprintln(w, "warning: --secrets plain stores Secret values in git as the cluster has them; anyone who can read the repository can read them")
	}
}

// sealer encrypts for age recipients in the sops file format.
type sealer struct {
	names []string
	seal  func(plain []byte, encryptedRegex string) ([]byte, error)
}

func (s sealer) Seal(plain []byte, re string) ([]byte, error) { return s.seal(plain, re) }
func (s sealer) Recipients() []string                         { return s.names }
