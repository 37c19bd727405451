package canonical

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ID names one object of one resource type. Version is not part of the
// identity: the repository keeps one copy of each object, in the group's
// preferred version.
type ID struct {
	Group     string
	Resource  string
	Namespace string
	Name      string
}

// ResourceDir is the kubectl form of a resource: "configmaps" for the core
// group, "deployments.apps" otherwise.
func (id ID) ResourceDir() string {
	if id.Group == "" {
		return id.Resource
	}
	return id.Resource + "." + id.Group
}

// String is "<resource>[.<group>]/[<namespace>/]<name>", for messages.
func (id ID) String() string {
	if id.Namespace == "" {
		return id.ResourceDir() + "/" + id.Name
	}
	return id.ResourceDir() + "/" + id.Namespace + "/" + id.Name
}

const (
	clusterDir   = "cluster"
	namespaceDir = "namespaces"
	fileSuffix   = ".yaml"
)

// PathOf returns the repository path of id, relative to the repository's
// prefix. It is the inverse of ParsePath.
func PathOf(id ID) string {
	var b strings.Builder
	if id.Namespace == "" {
		b.WriteString(clusterDir)
	} else {
		b.WriteString(namespaceDir)
		b.WriteByte('/')
		b.WriteString(escape(id.Namespace))
	}
	b.WriteByte('/')
	// Resources never hold '.', but escaping it keeps "<resource>.<group>"
	// unambiguous for any string.
	b.WriteString(strings.ReplaceAll(escape(id.Resource), ".", "%2E"))
	if id.Group != "" {
		b.WriteByte('.')
		b.WriteString(escape(id.Group))
	}
	b.WriteByte('/')
	b.WriteString(escape(id.Name))
	b.WriteString(fileSuffix)
	return b.String()
}

// ParsePath returns the identity stored at path, or an error saying why path
// is not a path PathOf could have produced.
func ParsePath(path string) (ID, error) {
	parts := strings.Split(path, "/")
	var id ID
	var rest []string
	switch {
	case len(parts) == 3 && parts[0] == clusterDir:
		rest = parts[1:]
	case len(parts) == 4 && parts[0] == namespaceDir:
		ns, err := unescape(parts[1])
		if err != nil || ns == "" {
			return ID{}, fmt.Errorf("%s: bad namespace segment %q", Shown(path), parts[1])
		}
		id.Namespace = ns
		rest = parts[2:]
	default:
		return ID{}, fmt.Errorf("%s: not of the form cluster/<resource>/<name>.yaml or namespaces/<namespace>/<resource>/<name>.yaml", Shown(path))
	}
	res, group, _ := strings.Cut(rest[0], ".")
	var err error
	if id.Resource, err = unescape(res); err != nil || id.Resource == "" {
		return ID{}, fmt.Errorf("%s: bad resource segment %q", Shown(path), rest[0])
	}
	if id.Group, err = unescape(group); err != nil {
		return ID{}, fmt.Errorf("%s: bad group in %q", Shown(path), rest[0])
	}
	file, ok := strings.CutSuffix(rest[1], fileSuffix)
	if !ok {
		return ID{}, fmt.Errorf("%s: file name does not end in %s", Shown(path), fileSuffix)
	}
	if id.Name, err = unescape(file); err != nil || id.Name == "" {
		return ID{}, fmt.Errorf("%s: bad name segment %q", Shown(path), file)
	}
	if PathOf(id) != path {
		// Catches non-canonical spellings such as "%3a" or "%61", which
		// would make two paths name one object.
		return ID{}, fmt.Errorf("%s: not canonically escaped (want %s)", Shown(path), PathOf(id))
	}
	return id, nil
}

// Shown is p as an error message may print it: as it is when every rune
// is printable, else quoted as a Go string, so that a file name from a
// repository cannot put control characters (terminal escapes, a line
// break) into a message.
func Shown(p string) string {
	for _, r := range p {
		if !unicode.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

const hexDigits = "0123456789ABCDEF"

func escape(s string) string {
	if s == "." || s == ".." {
		// Not a valid name for a git tree entry or a folder.
		return strings.Repeat("%2E", len(s))
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		hi, lo := strings.IndexByte(hexDigits, s[i+1]), strings.IndexByte(hexDigits, s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}
