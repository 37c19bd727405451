package main

import (
	"fmt"
	"os"

	"github.com/kubesnap/kubesnap/internal/sops"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/pflag"
)

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
