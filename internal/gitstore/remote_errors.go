package gitstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

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
