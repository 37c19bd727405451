package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/kube"
	"github.com/kubesnap/kubesnap/internal/sops"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	rs, err := f.ageRecipients()
	if err != nil {
		return s, err
	}
	if len(rs) == 0 {
		return s, usageError{errors.New("--secrets encrypt needs the public keys to encrypt for: --age-recipient age1… or --age-recipients-file FILE")}
	}
	// The recipients' text, sorted: what a file's metadata lists, and
	// what tells whether a stored file is encrypted for them.
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = recipientText(r)
	}
	sort.Strings(keys)
	if rs, err = sops.ParseRecipients(keys); err != nil { // in the order of keys
		return s, usageError{fmt.Errorf("age recipients: %v; %s", err, publicKeyLooks)}
	}
	s.Sealer = sealer{names: keys, seal: func(plain []byte, re string) ([]byte, error) {
		return sops.Encrypt(plain, rs, re, time.Now())
	}}
	return s, nil
}

// ageRecipients parses --age-recipient and reads --age-recipients-file.
// Errors name the argument or the file's line, never its text, which may
// be a secret key given by mistake.
func (f *secretFlags) ageRecipients() ([]age.Recipient, error) {
	var rs []age.Recipient
	for i, text := range f.recipients {
		where := "--age-recipient"
		if len(f.recipients) > 1 {
			where = fmt.Sprintf("--age-recipient number %d", i+1)
		}
		r, err := sops.ParseRecipient(text)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s %v; %s", where, err, publicKeyLooks)}
		}
		rs = append(rs, r)
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
	return append(rs, more...), nil
}

// recipientText is r as age-keygen prints it, and as sops.Encrypt writes
// it in a file's metadata.
func recipientText(r age.Recipient) string {
	if s, ok := r.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
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
// is stopped: without the key a value that changes under the same key
// leaves the file as it is, and git keeps a stale Secret without a word.
// With --allow-stale-secrets it goes on without the key, and warn is told.
func (f *secretFlags) key(ctx context.Context, s *snapsync.Secrets, cluster *kube.Cluster, create bool, warn func(string)) error {
	err := f.readKey(ctx, s, cluster, create)
	if !errors.Is(err, kube.ErrDigestKeyForbidden) {
		return err
	}
	s.Key = nil
	if f.allowStale {
		warn(err.Error() + "; going on without it (--allow-stale-secrets): a Secret value that changes while its keys stay the same goes unseen")
		return nil
	}
	consequence := "git keeps the stale file"
	if !create {
		consequence = "diff reports no drift for it"
	}
	return fmt.Errorf("%w; without it a Secret value that changes while its keys stay the same goes unseen and %s: give the key with --digest-key FILE, or accept that with --allow-stale-secrets", err, consequence)
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
	if keyLike(path) {
		return nil, usageError{fmt.Errorf("%s takes the path of an identity file, and was given the key itself: write it to a file (age-keygen -o FILE writes a new one) and give its path", from)}
	}
	ids, err := sops.ReadIdentities(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", from, path, err)
	}
	return func(data []byte) ([]byte, error) { return sops.Decrypt(data, ids) }, nil
}

// resolve checks every name of --sensitive-resources against the types the
// server serves and leaves them in s in the <resource>.<group> form the
// syncer compares with. A name no served type answers to would leave that
// type's values in plain text: it stops the command (exit 2).
func (f *secretFlags) resolve(ctx context.Context, s *snapsync.Secrets, cluster *kube.Cluster) error {
	if len(s.Sensitive) == 0 {
		return nil
	}
	disc, err := cluster.Discover(ctx)
	if err != nil {
		return err
	}
	s.Sensitive, err = resolveSensitive(s.Sensitive, disc, f.sensitiveFlag())
	return err
}

// resolveSensitive returns names in the <resource>.<group> form: each is a
// type's resource in that form, or a short form (the resource alone, or
// the kind) that names exactly one served type. A name in the full form
// whose group's discovery failed (an unavailable APIService) is kept as
// given: it may be served again later, and must be hidden then.
func resolveSensitive(names []string, disc snapsync.Discovery, flag string) ([]string, error) {
	failed := map[string]bool{}
	for gv := range disc.FailedGroups {
		if g, err := schema.ParseGroupVersion(gv); err == nil {
			failed[g.Group] = true
		}
	}
	var out []string
	for _, name := range names {
		var exact bool
		var short []string
		for _, t := range disc.Types {
			switch {
			case t.ResourceDir() == name:
				exact = true
			case t.Resource == name || strings.EqualFold(t.Kind, name):
				short = append(short, t.ResourceDir())
			}
		}
		_, group, full := strings.Cut(name, ".")
		switch {
		case exact:
			out = append(out, name)
		case len(short) == 1:
			out = append(out, short[0])
		case len(short) > 1:
			sort.Strings(short)
			return nil, usageError{fmt.Errorf("%s: %q could mean %s; write one of them", flag, name, strings.Join(short, " or "))}
		case full && failed[group]:
			out = append(out, name)
		default:
			msg := fmt.Sprintf("%s: %q is not a type this server serves", flag, name)
			if like := typesLike(name, disc.Types); len(like) > 0 {
				msg += "; did you mean " + strings.Join(like, " or ") + "?"
			} else {
				msg += "; kubectl api-resources lists the types it serves (write NAME.GROUP, e.g. credentials.example.com)"
			}
			return nil, usageError{errors.New(msg)}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// typesLike returns up to 5 served types a mistyped name could mean: the
// same resource in another group, a singular or plural of one, or one a
// couple of letters away.
func typesLike(name string, types []canonical.Type) []string {
	resource, _, _ := strings.Cut(name, ".")
	var out []string
	for _, t := range types {
		r := t.Resource
		if r == resource || len(resource) >= 3 && (strings.HasPrefix(r, resource) || strings.HasPrefix(resource, r)) ||
			editDistance(resource, r) <= 2 || editDistance(name, t.ResourceDir()) <= 2 {
			out = append(out, t.ResourceDir())
		}
	}
	sort.Strings(out)
	out = slices.Compact(out)
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
