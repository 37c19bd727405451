// Package audit receives the Kubernetes API server's audit events (its
// audit webhook, --audit-webhook-config-file) and tells the watcher who
// made a change: Receiver implements sync.Audit.
//
// # What is kept
//
// An audit event can hold the request's and the response's bodies: a
// Secret's data, a token. kubesnap never stores, logs or commits any of
// it. The body of a batch is decoded into the package's own minimal
// structs (event.go), which name only the identity (user, impersonated
// user, source address, user agent), the object reference, the verb, the
// stage, the response code, the times, the request URI (read for
// dryRun=All, then dropped) and, of the response object, its name and
// resourceVersion: encoding/json skips every other key without keeping
// it. k8s.io/apiserver's audit types are not used: they hold the bodies
// whole (runtime.Unknown), which is what must not be held, and that
// module is no dependency of kubesnap. Error messages and logs about a
// batch say where it failed, never what it held. Strings kept are
// stripped of control characters and cut to 256 bytes (a user agent is
// whatever the client sent, and may end up in a commit).
//
// Only events of stage ResponseComplete, with a 2xx code, of the verbs
// create, update, patch, delete and deletecollection, and not dry runs,
// are kept. They are held for Options.Retain, Options.MaxEvents at most
// (expired as batches arrive), and never consumed by a match: one
// request can make several changes (deletecollection).
//
// # Matching
//
// Who looks for, in order:
//
//	exact        an event of the object whose response object carried the
//	             change's resourceVersion (level RequestResponse); any verb
//	approximate  an event of the object (or, for deletecollection and a
//	             create by generateName at level Metadata, of its namespace
//	             and resource) whose verb fits the change, which completed
//	             at most Window before the watcher saw it and was received
//	             at most Skew after; not a status update unless nothing
//	             else fits (kubesnap does not store status); the closest in
//	             time; Actor.Approximate is set
//
// objectRef.resourceVersion is not matched: the API server fills it with
// the resourceVersion the request was made against (an update's
// precondition), the previous change's. An event whose response
// resourceVersion is known and differs from the change's made another
// change, and is never matched approximately.
//
// # Who may post
//
// The receiver serves HTTPS only (TLS 1.2 or later) at Path. A request
// must show a client certificate that verifies against
// Options.ClientCAFile (for client authentication), or the bearer token
// of Options.TokenFile, compared in constant time. With both configured,
// a request that shows a certificate is judged by it alone, one that
// shows none by its token. Certificates are checked in the handler, not
// in the handshake, so that a refusal is an HTTP answer (401, 403) and is
// counted in kubesnap_audit_refused_total{reason} like every other one:
// no_credentials, bad_token, bad_certificate, bad_request (a path other
// than Path, a method other than POST, a content type other than JSON, a
// body that is not an EventList), too_large (over Options.MaxBody).
// Nothing of a refused request is kept.
//
// # Files
//
//	receiver.go     Options, Listen, Receiver: Addr, Wait, Arrived, Who
//	serve.go        ServeHTTP: the checks on each batch, refusals
//	credentials.go  client CA and token: loading, the TLS config, the check
//	event.go        the wire format read (minimal), which events are kept, Actor
//	index.go        events by object, expiry, the exact and approximate match
//	metrics.go      the receiver's metrics and refusal reasons
package audit
