package gitstore

import (
	"net/url"
	"regexp"
	"strings"
)

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
