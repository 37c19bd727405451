// Package canonical turns a live Kubernetes object into the bytes kubesnap
// stores in git, and maps every object to one file path and back.
//
// Everything here is a pure function over *unstructured.Unstructured and
// bytes: no I/O, no clocks, no globals. The same live object always gives the
// same bytes, and nothing the server or a controller changes on its own
// (resourceVersion, status, server-assigned ClusterIPs, …) survives
// normalization, so it never makes a commit.
//
// # Pipeline
//
//	skip?   := SkipType(type) / SkipObject(obj)   the default capture rules
//	info    := Normalize(obj, facts)              user rules (facts.Rules) first, then the built-in ones; rewrites obj in place
//	bytes   := enc.Marshal(obj)                   sorted keys, int64 exact, no wrapping
//	path    := PathOf(t.ID(namespace, name))      the file in the repository
//
// Marshal writes most objects directly (emit.go) and leaves the rest to
// yaml.v3, with the same bytes either way. Scalars yaml.v3 must render
// (quoted strings, floats) are cached by an Encoder, which the caller owns:
// one per snapshot, watch or diff (the zero value is ready, and safe for
// concurrent use). Marshal, for one-off callers, uses a fresh Encoder per
// call. The package keeps no state of its own.
//
// # Paths
//
// An object lives at
//
//	cluster/<resource>[.<group>]/<name>.yaml                   cluster-scoped
//	namespaces/<namespace>/<resource>[.<group>]/<name>.yaml    namespaced
//
// Each path segment is escaped so that the mapping is injective, reversible
// and safe on case-insensitive file systems (macOS, Windows): the bytes
// a-z, 0-9, '.' and '-' stand for themselves, and every other byte,
// upper-case letters included, is written as '%' followed by two upper-case
// hexadecimal digits. So "system:Admin" becomes "system%3A%41dmin". Since no
// escaped segment holds an upper-case letter outside an escape, and escapes
// are always written with upper-case digits, two different names never map
// to paths that differ only in case. A '.' in a resource, and a segment that
// is "." or "..", are escaped too, so that "<resource>.<group>" splits at its
// first dot and no segment names the current or parent folder.
//
// # Normalization rules
//
// Controllers keep rewriting parts of objects (an HPA owns spec.replicas, a
// CA injector writes caBundle, a mesh stamps annotations). The user's
// rules, under normalize: in the configuration file, remove those fields
// before anything is stored or compared, so that their writes make no
// commit and no drift:
//
//	normalize:
//	  - name: hpa-owns-replicas                  # optional; explain shows it
//	    match: {group: apps, kind: Deployment, namespaces: [shop], names: ["web-*"], labelSelector: "app=web"}
//	    ignoreFields: [spec.replicas]
//	  - match: {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration}
//	    ignoreFields: ['webhooks[*].clientConfig.caBundle']
//	  - match: {kind: Deployment}
//	    ignoreManagers: [kube-controller-manager, "hpa-*"]
//
// match narrows a rule; every field left out matches everything. group,
// kind, namespaces and names are globs (path.Match); group "" (or core) is
// the core group; namespaces never match cluster-scoped objects;
// labelSelector is what kubectl -l takes.
//
// ignoreFields are paths, either JSON pointers (/spec/replicas, ~1 for '/'
// in a key, ~0 for '~') or in the simple syntax:
//
//	spec.replicas                          keys joined by dots (letters, digits, - and _)
//	metadata.annotations["a.b/c"]          any other key, quoted ("…" or '…', with \" and \\ escaped)
//	webhooks[*].clientConfig.caBundle      [*]: every list item, or every map value
//	spec.template.spec.containers[0]       [N]: one list item
//
// A path may not remove apiVersion, kind, metadata.name or
// metadata.namespace. Maps and lists that a removal leaves empty are
// removed too (a controller made them to hold what it wrote).
//
// ignoreManagers are globs over field manager names. Apply reads
// metadata.managedFields (FieldsV1, parsed with structured-merge-diff's
// fieldpath) and removes what those managers own:
//
//	for each element e the ignored managers own or descend into:
//	    find e in the object (a field; a list item by its key fields,
//	    k:{…}; a set item by its value, v:…; an index, i:N)
//	    if they own e itself and no other manager owns anything inside e:
//	        remove e whole, with the defaults the server filled into it
//	    else: descend, and remove e if that leaves it empty
//
// A field an ignored manager owns is removed even when another manager
// owns it too: Argo CD's managedFieldsManagers does the same, and a co-owned
// field is one whose value every owner asserts. The key fields of a list
// item go only with the item. Status is not walked (Normalize drops it).
// Files read back from git have no managedFields, so manager rules act on
// live objects only.
//
// Rules are decoded strictly (DecodeRules, ParseRules): unknown fields, bad
// paths, globs, selectors and manager patterns are errors, all of them
// reported, one line each, naming the rule by index and name. Apply
// returns what each rule removed, for kubesnap rules --explain;
// DefaultRules describes the built-in rules that Normalize and the skip
// rules apply, for kubesnap rules.
//
// # Files
//
//	normalize.go       Normalize: the built-in rules (RULES.md), after the user's
//	skip.go            Type; the default capture rules (SkipType, SkipObject, Capturable)
//	filter.go          Filter: the namespace, resource and label filters of every command
//	typenames.go       resource directories other packages compare against (CRDs, APIServices)
//	secret.go          Secrets and sensitive types: redaction, the keyed digest, Sealed
//	marshal.go         Marshal, and the yaml.v3 path Marshal falls back to
//	parse.go           Parse: one object from YAML, as kubectl reads it
//	encoder.go         Encoder: Marshal with a cache of yaml.v3's scalar renderings
//	emit.go            the direct emitter: mappings and sequences
//	emit_scalar.go     the direct emitter: scalars, keys, literal blocks
//	path.go            ID, PathOf, ParsePath: the file of an object, and its escaping
//	file.go            reading stored files back: ObjectFiles, ReadObject, CheckObject
//	coverage.go        .kubesnap/coverage.yaml: the scope a repository was written with
//	rules.go           Rules, Rule, Match; Apply
//	rules_decode.go    decoding rules strictly from YAML and JSON (RuleErrors)
//	rules_path.go      ignoreFields paths: parsing and removal
//	rules_managers.go  ignoreManagers: what the ignored managers own in managedFields
//	rules_owned.go     Matching and Ignored: the fields rules leave to their managers (restore)
//	rules_defaults.go  DefaultRules and Describe, for kubesnap rules
//	explain.go         Explain: what each rule removes from one object (rules --explain)
package canonical
