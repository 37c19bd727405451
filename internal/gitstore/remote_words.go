package gitstore

import (
	"strings"
	"unicode"
)

// remoteWords keeps the first messages the remote sent on the side band.
type remoteWords struct{ buf []byte }

// maxRemoteWords bounds what a remote may put into our errors and logs.
const maxRemoteWords = 400

func (w *remoteWords) Write(p []byte) (int, error) {
	if room := 4*maxRemoteWords - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// quote returns what the remote said as " (the remote said: …)", on one
// line, without control characters, cut at maxRemoteWords bytes; "" when
// it said nothing.
func (w *remoteWords) quote() string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(w.buf), " "))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	if len(s) > maxRemoteWords {
		s = strings.ToValidUTF8(s[:maxRemoteWords], "") + "…"
	}
	return " (the remote said: " + s + ")"
}
