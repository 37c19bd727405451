package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/spf13/pflag"
)

// remoteFlags are the git remote and its credentials, as typed: watch and
// snapshot push with them.
type remoteFlags struct {
	remote              gitstore.Remote
	tokenEnv, tokenFile string
}

func (f *remoteFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.remote.URL, "remote", "", "git remote to push to: https://, ssh://, git@host:path, file:// or a local path")
	fs.StringVar(&f.tokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	fs.StringVar(&f.tokenFile, "git-token-file", "", "file holding the HTTPS token")
	fs.StringVar(&f.remote.Username, "git-username", "", `HTTPS user sent with the token (default "git")`)
	fs.StringVar(&f.remote.SSHKeyFile, "ssh-key-file", "", "SSH private key file")
	fs.StringVar(&f.remote.KnownHostsFile, "ssh-known-hosts", "", "SSH known_hosts file (required for SSH remotes)")
}

// complete reads the token and returns the remote; its URL is "" when no
// --remote was given.
func (f *remoteFlags) complete() (gitstore.Remote, error) {
	rem := f.remote
	if f.tokenEnv != "" && f.tokenFile != "" {
		return rem, usageError{errors.New("give --git-token-env or --git-token-file, not both")}
	}
	if f.tokenEnv != "" {
		if rem.Token = os.Getenv(f.tokenEnv); rem.Token == "" {
			return rem, fmt.Errorf("--git-token-env %s: the variable is empty or not set", f.tokenEnv)
		}
	}
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return rem, fmt.Errorf("--git-token-file: %w", err)
		}
		if rem.Token = strings.TrimSpace(string(b)); rem.Token == "" {
			return rem, fmt.Errorf("--git-token-file %s is empty", f.tokenFile)
		}
	}
	if rem.URL == "" && (rem.Token != "" || rem.SSHKeyFile != "" || rem.KnownHostsFile != "") {
		return rem, usageError{errors.New("git credentials given without --remote")}
	}
	return rem, nil
}
