package gitstore

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// sshDialTimeout bounds connecting to an ssh remote; go-git's ssh dial
// does not follow the context.
const sshDialTimeout = 30 * time.Second

// publicKeyAuth is go-git's public key auth with a dial timeout.
type publicKeyAuth struct{ *gitssh.PublicKeys }

func (a publicKeyAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = sshDialTimeout
	return cfg, nil
}

// sshAuth reads the key and the known hosts for an ssh endpoint.
func sshAuth(ep *transport.Endpoint, keyFile, knownHosts string) (transport.AuthMethod, error) {
	if keyFile == "" {
		return nil, errors.New("an ssh remote needs a private key: give --ssh-key-file")
	}
	if knownHosts == "" {
		return nil, errors.New("an ssh remote needs the host's key: give --ssh-known-hosts (a known_hosts file; host keys are always checked)")
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read --ssh-key-file: %w", err)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, pem, "")
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("--ssh-key-file %s is protected by a passphrase: give a key without one", keyFile)
	case err != nil:
		return nil, fmt.Errorf("--ssh-key-file %s is not a private key: %w", keyFile, err)
	}
	if _, err := os.Stat(knownHosts); err != nil {
		return nil, fmt.Errorf("read --ssh-known-hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(knownHosts)
	if err != nil {
		return nil, fmt.Errorf("--ssh-known-hosts %s: %w", knownHosts, err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	keys.HostKeyCallback = db.HostKeyCallback()
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(fmt.Sprintf("%s:%d", ep.Host, port))
	return publicKeyAuth{keys}, nil
}
