package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// digestKeySecrets are where the key of the Secret digests is looked for
// when --digest-key-secret is not given, in this order: the namespace of
// the in-cluster watcher (deploy/), so that a laptop's snapshot digests as
// the watcher does, then kube-system. A missing key is created in the first
// whose namespace exists.
var digestKeySecrets = []string{"kubesnap-system/kubesnap-digest-key", "kube-system/kubesnap-digest-key"}

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
