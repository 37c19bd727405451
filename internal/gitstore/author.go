package gitstore

import (
	"strings"
	"unicode"

	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var _ snapsync.AuthoredStore = (*Repo)(nil)

// maxIdentity bounds an author's name and e-mail, in bytes.
const maxIdentity = 256

// signatureOf turns an author into a commit signature. A user name comes
// from the cluster's authenticator, which any identity provider feeds:
// it may hold anything. git ends a name at '<' and a header at a newline,
// so those and every control character become '_' (a name cannot forge
// another header or another author), and each part is bounded. An empty
// e-mail is the name: git log --author matches either.
func signatureOf(a snapsync.Author) object.Signature {
	name := headerSafe(a.Name)
	email := headerSafe(a.Email)
	if email == "" {
		email = name
	}
	return object.Signature{Name: name, Email: email}
}

func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > maxIdentity {
		s = strings.ToValidUTF8(s[:maxIdentity], "")
	}
	return s
}
