package audit

import (
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// eventList is the part of an audit.k8s.io/v1 EventList the receiver
// reads. Only the fields below are decoded: encoding/json skips every
// other key of the input without keeping it, so request and response
// bodies (a Secret's data) never reach memory that outlives the decoder's
// buffer.
type eventList struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Items      []event `json:"items"`
}

// event is one audit event, reduced to who, what object and when.
type event struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"` // read for dryRun, then dropped
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	SourceIPs []string   `json:"sourceIPs"`
	UserAgent string     `json:"userAgent"`
	ObjectRef *objectRef `json:"objectRef"`

	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	// ResponseObject is the object the API server answered with (at level
	// RequestResponse): only its name and resourceVersion are read.
	ResponseObject *struct {
		Metadata struct {
			Name            string `json:"name"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	} `json:"responseObject"`

	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

type objectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	Subresource string `json:"subresource"`
}

// writes are the verbs whose events are kept: the ones that change an
// object the watcher sees.
var writes = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// entry returns what the receiver keeps of ev, or nil when ev tells
// nothing about a change the watcher can see: another stage, a read, a
// refused or dry-run request, an event without an object or a user.
func (ev *event) entry() *entry {
	if ev.Stage != "ResponseComplete" || !writes[ev.Verb] || ev.ObjectRef == nil || ev.ObjectRef.Resource == "" {
		return nil
	}
	if ev.ResponseStatus == nil || ev.ResponseStatus.Code < 200 || ev.ResponseStatus.Code > 299 {
		return nil
	}
	if dryRun(ev.RequestURI) || ev.User.Username == "" || ev.StageTimestamp.IsZero() {
		return nil
	}
	ref := ev.ObjectRef
	e := &entry{
		key:         key{group: ref.APIGroup, resource: ref.Resource, namespace: ref.Namespace, name: ref.Name},
		subresource: ref.Subresource,
		verb:        ev.Verb,
		received:    ev.RequestReceivedTimestamp,
		completed:   ev.StageTimestamp,
	}
	if e.received.IsZero() || e.received.After(e.completed) {
		e.received = e.completed
	}
	if ro := ev.ResponseObject; ro != nil && ev.Verb != "deletecollection" {
		// A deletecollection answers with a list, whose resourceVersion
		// is no object's. A create by generateName has no name in
		// objectRef (the request had none): the answer has it.
		e.rv = ro.Metadata.ResourceVersion
		if e.key.name == "" && ev.Verb == "create" {
			e.key.name = ro.Metadata.Name
		}
	}
	if ev.Verb == "deletecollection" {
		e.key.name = ""
	}
	e.actor = actorOf(ev)
	return e
}

// actorOf says who made ev's request. With impersonation the request
// acted as the impersonated user, and the authenticated user made it.
func actorOf(ev *event) snapsync.Actor {
	a := snapsync.Actor{User: clean(ev.User.Username), UserAgent: clean(ev.UserAgent)}
	if iu := ev.ImpersonatedUser; iu != nil && iu.Username != "" {
		a.User, a.Impersonator = clean(iu.Username), a.User
	}
	if len(ev.SourceIPs) > 0 {
		if ip, err := netip.ParseAddr(ev.SourceIPs[0]); err == nil {
			a.SourceIP = ip.String()
		}
	}
	return a
}

// dryRun reports whether a request URI asks for a dry run, which changes
// nothing. A URI that does not parse is taken as a real request.
func dryRun(uri string) bool {
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return false
	}
	for _, v := range u.Query()["dryRun"] {
		if v == "All" {
			return true
		}
	}
	return false
}

// maxField bounds each string the receiver keeps: a user agent is
// whatever the client sent.
const maxField = 256

// clean makes s safe to put in a commit's author or message: control
// characters (line breaks, terminal escapes) and invalid UTF-8 go, and it
// is cut to maxField bytes on a character boundary.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= maxField {
		return s
	}
	cut := maxField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
