package gitstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/file"
	gitproto "github.com/go-git/go-git/v5/plumbing/transport/git"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"golang.org/x/crypto/ssh"
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

// userinfo matches the credentials part of URLs in free text.
var (
	httpUserinfo  = regexp.MustCompile(`(?i)(https?://)[^/@\s]+@`)
	otherPassword = regexp.MustCompile(`(://[^/:@\s]*):[^/@\s]*@`)
)

// redactURLs blots out the user information of http(s) URLs (a token may
// stand as the user name there) and the passwords of other URLs in s.
func redactURLs(s string) string {
	s = httpUserinfo.ReplaceAllString(s, "${1}***@")
	return otherPassword.ReplaceAllString(s, "${1}:***@")
}

// redact blots credentials out of s.
func (rm *remote) redact(s string) string {
	s = redactURLs(s)
	for _, secret := range rm.secrets {
		if secret == "" {
			continue
		}
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			s = strings.ReplaceAll(s, form, "***")
		}
	}
	return s
}

// remoteError is an error from talking to the remote, its text redacted.
// It unwraps only to errors whose text cannot hold credentials: context
// errors and go-git's transport sentinels.
type remoteError struct {
	msg   string
	cause error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.cause }

// safeCauses are the errors a remoteError may unwrap to.
var safeCauses = []error{
	context.Canceled, context.DeadlineExceeded,
	transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed,
	transport.ErrRepositoryNotFound, transport.ErrInvalidAuthMethod,
	errRemoteMoved, errNoRemote, snapsync.ErrLostRace,
}

var (
	// errRemoteMoved says the remote branch is not an ancestor of ours:
	// fetch, rebase and push again.
	errRemoteMoved = errors.New("the remote branch moved on")
	errNoRemote    = errors.New("no remote: call SetRemote")
)

// fail wraps err as "op: err" with credentials blotted out and a hint for
// the failures a person must fix.
func (rm *remote) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	msg := op + ": " + err.Error()
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		msg += " (check the token, --git-token-file, and --git-username)"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		msg += " (the credentials may not push to this repository)"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		msg += " (check --remote, and that the credentials may read it)"
	case strings.Contains(err.Error(), "knownhosts: key is unknown"):
		msg += " (the host's key is not in --ssh-known-hosts)"
	case strings.Contains(err.Error(), "knownhosts: key mismatch"):
		msg += " (the host's key differs from the one in --ssh-known-hosts)"
	case strings.Contains(err.Error(), "unable to authenticate"):
		msg += " (the remote refuses the key in --ssh-key-file)"
	}
	// One line: servers' messages may span several.
	e := &remoteError{msg: strings.Join(strings.Fields(rm.redact(msg)), " ")}
	for _, c := range safeCauses {
		if errors.Is(err, c) {
			e.cause = c
			break
		}
	}
	return e
}

// permanent reports errors that trying again cannot fix.
func permanent(err error) bool {
	for _, c := range safeCauses {
		if errors.Is(err, c) {
			return true
		}
	}
	var rej *rejectedError
	var loc *localError
	s := err.Error()
	return errors.As(err, &rej) || errors.As(err, &loc) ||
		strings.Contains(s, "knownhosts:") || strings.Contains(s, "unable to authenticate")
}

// localError is a failure in this repository, not in talking to the
// remote.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// rejectedError is the remote refusing a ref update.
type rejectedError struct {
	ref    plumbing.ReferenceName
	status string
}

func (e *rejectedError) Error() string {
	return fmt.Sprintf("the remote refused to update %s: %s", e.ref.Short(), e.status)
}

// retry runs fn until it succeeds, fails for good, or has failed
// rm.attempts times, waiting longer after each failure (exponential
// backoff, capped). Each attempt gets rm.timeout.
func (rm *remote) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	wait := rm.backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, rm.timeout)
		err := fn(actx)
		cancel()
		if err == nil || permanent(err) || ctx.Err() != nil {
			if ctx.Err() != nil && err != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", ctx.Err(), err)
			}
			return err
		}
		if attempt >= rm.attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, rm.maxWait)
	}
}

// maxRaceWait bounds one wait after a lost race, so that a Push that
// loses every round still returns within seconds.
const maxRaceWait = 2 * time.Second

// contend waits after the round-th race lost to another writer: a random
// time up to raceWait·2^(round-1), at most maxRaceWait ("full jitter").
// Writers that lost to each other then try again at different times,
// instead of fetching, rebasing and pushing in step and losing again.
func (rm *remote) contend(ctx context.Context, round int) error {
	limit := min(rm.raceWait<<min(round-1, 16), maxRaceWait)
	if limit <= 0 {
		return nil
	}
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
