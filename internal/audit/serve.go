package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// ServeHTTP takes one batch: a POST to Path, from a client that shows
// its credentials, of an audit.k8s.io/v1 EventList in JSON no larger
// than Options.MaxBody. Anything else is refused, counted by reason, and
// nothing of it kept. No message, logged or answered, quotes the body.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if reason, status := r.creds.check(req); reason != "" {
		r.refuse(w, req, reason, status, "")
		return
	}
	if req.URL.Path != Path {
		r.refuse(w, req, reasonBadRequest, http.StatusNotFound, "the audit webhook is at "+Path)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.refuse(w, req, reasonBadRequest, http.StatusMethodNotAllowed, "the audit webhook takes POST only")
		return
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		r.refuse(w, req, reasonBadRequest, http.StatusUnsupportedMediaType, "the audit webhook takes application/json")
		return
	}
	var list eventList
	err := json.NewDecoder(http.MaxBytesReader(w, req.Body, r.opts.MaxBody)).Decode(&list)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.refuse(w, req, reasonTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("a batch may hold %d bytes at most", r.opts.MaxBody))
			return
		}
		r.refuse(w, req, reasonBadRequest, http.StatusBadRequest, "the body is not JSON: "+where(err))
		return
	}
	if list.APIVersion != "audit.k8s.io/v1" || list.Kind != "EventList" {
		r.refuse(w, req, reasonBadRequest, http.StatusBadRequest, "the body is not an audit.k8s.io/v1 EventList")
		return
	}
	var kept []*entry
	for i := range list.Items {
		if e := list.Items[i].entry(); e != nil {
			kept = append(kept, e)
		}
	}
	r.keep(kept)
	r.log.Debug("audit batch", "events", len(list.Items), "kept", len(kept))
	w.WriteHeader(http.StatusOK)
}

// where says where a body failed to decode without quoting it:
// encoding/json's messages name the character or value they met.
func where(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		// typ.Value may hold a number from the body: not quoted.
		return fmt.Sprintf("a value of the wrong type at byte %d (field %s)", typ.Offset, typ.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends early"
	}
	return "it does not decode"
}

// refuse answers a refused request and logs it, naming the client's
// address, never anything it sent.
func (r *Receiver) refuse(w http.ResponseWriter, req *http.Request, reason string, status int, why string) {
	r.metrics.refused.WithLabelValues(reason).Inc()
	r.log.Warn("audit webhook request refused", "reason", reason, "client", req.RemoteAddr, "status", status, "why", why)
	if req.Body != nil {
		// Close the connection rather than read on what was refused.
		w.Header().Set("Connection", "close")
	}
	msg := why
	if msg == "" {
		msg = http.StatusText(status)
	}
	http.Error(w, msg, status)
}
