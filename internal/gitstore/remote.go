package gitstore

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/file"
	gitproto "github.com/go-git/go-git/v5/plumbing/transport/git"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Remote says where the branch is pushed and with which credentials.
// Credentials never appear in what gitstore returns: errors carry the URL
// with its user information and the token blotted out.
type Remote struct {
	// URL is https://, http://, ssh://, scp-like git@host:path, git://,
	// file:// or a local path. Local paths and file:// run the git
	// binaries (git-upload-pack, git-receive-pack), as git does.
	URL string
	// Token is sent as the basic-auth password to an http(s) remote.
	Token string
	// Username goes with Token; "git" when empty (GitHub, GitLab and
	// Gitea accept any user name with a token).
	Username string
	// SSHKeyFile is the private key (not passphrase-protected) for an
	// ssh remote.
	SSHKeyFile string
	// KnownHostsFile lists the ssh remote's host keys. It is required:
	// host keys are always checked.
	KnownHostsFile string
}

// String returns the URL without credentials, so a Remote can be logged.
func (rem Remote) String() string { return redactURLs(rem.URL) }

// GoString is String, so that %#v does not print the token either.
func (rem Remote) GoString() string { return rem.String() }

// remote is a validated Remote, ready to open sessions.
type remote struct {
	url      string // for messages: without credentials
	endpoint *transport.Endpoint
	client   transport.Transport
	auth     transport.AuthMethod
	secrets  []string // blotted out of every message
	tracking plumbing.ReferenceName

	attempts  int           // transport attempts per operation
	backoff   time.Duration // wait after the first failed attempt, doubled each time
	maxWait   time.Duration // longest wait between attempts
	timeout   time.Duration // one attempt
	maxRounds int           // rebase-and-push rounds before Push gives up
	raceWait  time.Duration // longest wait after the first lost race, doubled each time
}

// SetRemote checks rem and makes it the remote Pull, Push, PushTags and
// DeleteTags talk to. It reads the ssh key and known_hosts files now, so
// that a wrong flag fails at start with one line naming it, not at the
// first push.
func (r *Repo) SetRemote(rem Remote) error {
	raw := strings.TrimSpace(rem.URL)
	if raw == "" {
		return errors.New("remote: the URL is empty: give --remote a URL")
	}
	token, user := rem.Token, rem.Username
	rm := &remote{
		attempts:  6,
		backoff:   500 * time.Millisecond,
		maxWait:   30 * time.Second,
		timeout:   10 * time.Minute,
		maxRounds: 10,
		raceWait:  50 * time.Millisecond,
	}
	if token != "" {
		rm.secrets = append(rm.secrets, token)
	}
	// Credentials written into an http(s) URL move to the auth method:
	// go-git would otherwise print them in its errors.
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.User != nil {
		pass, hasPass := u.User.Password()
		switch {
		case hasPass:
			rm.secrets = append(rm.secrets, pass)
			if token == "" {
				token, user = pass, u.User.Username()
			}
		case token == "" && u.User.Username() != "":
			token = u.User.Username() // https://TOKEN@host/… as GitHub documents it
			rm.secrets = append(rm.secrets, token)
		}
		u.User = nil
		raw = u.String()
	}
	rm.url = rm.redact(raw)
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return fmt.Errorf("remote %s is not a git URL: %s", rm.url, rm.redact(err.Error()))
	}
	switch ep.Protocol {
	case "http", "https":
		if ep.Host == "" {
			return fmt.Errorf("remote %s has no host", rm.url)
		}
		if rem.SSHKeyFile != "" || rem.KnownHostsFile != "" {
			return fmt.Errorf("remote %s is %s: --ssh-key-file and --ssh-known-hosts are for ssh remotes; give a token (--git-token-file) instead", rm.url, ep.Protocol)
		}
		if token != "" {
			if user == "" {
				user = "git"
			}
			rm.auth = &githttp.BasicAuth{Username: user, Password: token}
		}
		rm.client = githttp.NewClient(nil)
	case "ssh":
		if ep.Host == "" {
			return fmt.Errorf("remote %s has no host", rm.url)
		}
		if token != "" {
			return fmt.Errorf("remote %s is ssh: a token (--git-token-file) is for https remotes; give --ssh-key-file", rm.url)
		}
		auth, err := sshAuth(ep, rem.SSHKeyFile, rem.KnownHostsFile)
		if err != nil {
			return fmt.Errorf("remote %s: %w", rm.url, err)
		}
		rm.auth = auth
		rm.client = gitssh.DefaultClient
	case "file":
		if token != "" || rem.SSHKeyFile != "" || rem.KnownHostsFile != "" {
			return fmt.Errorf("remote %s is a local path: it takes no token or ssh key", rm.url)
		}
		p, err := filepath.Abs(ep.Path)
		if err != nil {
			return fmt.Errorf("remote %s: %w", rm.url, err)
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return fmt.Errorf("remote %s is no https://, ssh:// or git@host:path URL and no repository folder on this machine", rm.url)
		}
		ep.Path = p
		rm.client = file.DefaultClient
	case "git":
		if token != "" || rem.SSHKeyFile != "" || rem.KnownHostsFile != "" {
			return fmt.Errorf("remote %s is git://, which takes no credentials: use https:// or ssh://", rm.url)
		}
		rm.client = gitproto.DefaultClient
	default:
		return fmt.Errorf("remote %s: protocol %s is not supported: use https://, ssh:// or a local path", rm.url, ep.Protocol)
	}
	rm.endpoint = ep
	rm.tracking = plumbing.NewRemoteReferenceName("kubesnap", r.branch.Short())
	r.remote = rm
	return nil
}
