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
//	info    := Normalize(obj, facts)              rewrites obj in place
//	bytes   := Marshal(obj)                       sorted keys, int64 exact, no wrapping
//	path    := PathOf(IDOf(obj, resource))        the file in the repository
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
package canonical
