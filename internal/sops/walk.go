package sops

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// metadataKey is the top-level key holding a SOPS file's metadata.
const metadataKey = "sops"

// rules decide which values a file encrypts. A file names at most one of
// them; with none, sops encrypts every value but those under a key ending
// in "_unencrypted".
type rules struct {
	unencryptedSuffix string
	encryptedSuffix   string
	unencryptedRegex  *regexp.Regexp
	encryptedRegex    *regexp.Regexp
	// The comment rules look at the comments above a value (and above
	// its ancestors) rather than at its keys.
	unencryptedCommentRegex *regexp.Regexp
	encryptedCommentRegex   *regexp.Regexp
	// macOnlyEncrypted leaves the values that stay in clear out of the MAC.
	macOnlyEncrypted bool
}

// encrypts reports whether a value at path (the mapping keys from the root
// down to it; a list adds nothing) is encrypted. comments holds, per depth,
// the comment lines met since the last value at that depth; isComment says
// the value is itself the last of them.
func (r *rules) encrypts(path []string, comments [][]string, isComment bool) bool {
	anyKey := func(match func(string) bool) bool {
		for _, k := range path {
			if match(k) {
				return true
			}
		}
		return false
	}
	// The rules apply in this order, each overriding the ones before (a
	// file names one only, but this is the order sops applies them in).
	encrypted := r.unencryptedSuffix == "" || !anyKey(func(k string) bool { return strings.HasSuffix(k, r.unencryptedSuffix) })
	if r.encryptedSuffix != "" {
		encrypted = anyKey(func(k string) bool { return strings.HasSuffix(k, r.encryptedSuffix) })
	}
	if r.unencryptedRegex != nil && anyKey(r.unencryptedRegex.MatchString) {
		encrypted = false
	}
	if r.encryptedRegex != nil {
		encrypted = anyKey(r.encryptedRegex.MatchString)
	}
	if r.unencryptedCommentRegex != nil {
		for _, level := range comments {
			for _, c := range level {
				if r.unencryptedCommentRegex.MatchString(c) {
					encrypted = false
				}
			}
		}
	}
	if r.encryptedCommentRegex != nil {
		encrypted = false
		for i, level := range comments {
			for j, c := range level {
				// A comment that turns encryption on stays in clear
				// itself.
				if isComment && i == len(comments)-1 && j == len(level)-1 {
					continue
				}
				if r.encryptedCommentRegex.MatchString(c) {
					encrypted = true
				}
			}
		}
	}
	return encrypted
}

// visitor is what walk calls, in document order.
type visitor struct {
	// leaf gets every scalar that is not null, with its decoded value.
	// It may rewrite n in place.
	leaf func(n *yaml.Node, v any, path []string, encrypted bool) error
	// comment gets every comment line without its "#" and returns the
	// line's new text (without "#").
	comment func(text string, path []string, encrypted bool) (string, error)
}

// walker visits a document's values in the order sops does: sops turns the
// YAML into a tree of keys, values and comment lines, and both its MAC and
// its comment rules depend on that order. Mapping entries and list items come
// in document order; comments come where sops's YAML store puts them
// (described at each step below).
type walker struct {
	rules    *rules
	visit    visitor
	comments [][]string // active comments per depth, see rules.encrypts
}

// walkDocument walks doc's root mapping, skipping the top-level sops key.
func (w *walker) walkDocument(doc *yaml.Node) error {
	w.comments = [][]string{nil}
	// sops reads the document, its root mapping and the mapping's
	// entries into one branch: comments of all three are at depth one.
	if err := w.commentField(&doc.HeadComment, nil); err != nil {
		return err
	}
	if err := w.commentField(&doc.LineComment, nil); err != nil {
		return err
	}
	if len(doc.Content) == 1 {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return fmt.Errorf("the document is not a mapping")
		}
		if err := w.mappingEntries(root, nil, false, true); err != nil {
			return err
		}
	}
	return w.commentField(&doc.FootComment, nil)
}

// walkMapping walks a mapping in its own branch (a new depth). handled says
// its head and line comments were taken by its parent list.
func (w *walker) walkMapping(m *yaml.Node, path []string, handled bool) error {
	w.comments = append(w.comments, nil)
	defer func() { w.comments = w.comments[:len(w.comments)-1] }()
	return w.mappingEntries(m, path, handled, false)
}

func (w *walker) mappingEntries(m *yaml.Node, path []string, handled, root bool) error {
	if !handled {
		if err := w.commentFields(path, &m.HeadComment, &m.LineComment); err != nil {
			return err
		}
	}
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if err := w.commentFields(path, &k.HeadComment, &k.LineComment); err != nil {
			return err
		}
		// A scalar value's comments belong to the entry; a mapping's or
		// list's to the value's own branch.
		scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
		if scalar {
			if err := w.commentFields(path, &v.HeadComment, &v.LineComment); err != nil {
				return err
			}
		}
		key, err := keyString(k, path)
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("key %q appears twice in %s", key, where(path))
		}
		seen[key] = true
		if !root || key != metadataKey {
			if err := w.walkValue(v, appendPath(path, key), scalar); err != nil {
				return err
			}
			w.comments[len(w.comments)-1] = nil
		}
		if scalar {
			if err := w.commentField(&v.FootComment, path); err != nil {
				return err
			}
		}
		if err := w.commentField(&k.FootComment, path); err != nil {
			return err
		}
	}
	if !handled {
		return w.commentField(&m.FootComment, path)
	}
	return nil
}

// walkSequence walks a list in its own branch. Its items' comments are
// part of it; the items are at the list's path.
func (w *walker) walkSequence(s *yaml.Node, path []string, handled bool) error {
	w.comments = append(w.comments, nil)
	defer func() { w.comments = w.comments[:len(w.comments)-1] }()
	if !handled {
		if err := w.commentFields(path, &s.HeadComment, &s.LineComment); err != nil {
			return err
		}
	}
	for _, item := range s.Content {
		if err := w.commentFields(path, &item.HeadComment, &item.LineComment); err != nil {
			return err
		}
		if err := w.walkValue(item, path, true); err != nil {
			return err
		}
		w.comments[len(w.comments)-1] = nil
		if err := w.commentField(&item.FootComment, path); err != nil {
			return err
		}
	}
	if !handled {
		return w.commentField(&s.FootComment, path)
	}
	return nil
}

func (w *walker) walkValue(n *yaml.Node, path []string, handled bool) error {
	switch n.Kind {
	case yaml.MappingNode:
		return w.walkMapping(n, path, handled)
	case yaml.SequenceNode:
		return w.walkSequence(n, path, handled)
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			// yaml's error quotes the value.
			return fmt.Errorf("read the value at %s: its YAML tag does not fit it", where(path))
		}
		if v == nil {
			// sops neither encrypts nor MACs a null.
			return nil
		}
		return w.visit.leaf(n, v, path, w.rules.encrypts(path, w.comments, false))
	case yaml.AliasNode:
		return fmt.Errorf("the value at %s is a YAML alias: aliases are not supported", where(path))
	default:
		return fmt.Errorf("unexpected YAML node at %s", where(path))
	}
}

func (w *walker) commentFields(path []string, fields ...*string) error {
	for _, f := range fields {
		if err := w.commentField(f, path); err != nil {
			return err
		}
	}
	return nil
}

// commentField visits the lines of one comment of a node. sops keeps each
// line without its "#".
func (w *walker) commentField(field *string, path []string) error {
	if *field == "" {
		return nil
	}
	lines := strings.Split(*field, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := line[1:]
		top := len(w.comments) - 1
		w.comments[top] = append(w.comments[top], text)
		out, err := w.visit.comment(text, path, w.rules.encrypts(path, w.comments, true))
		if err != nil {
			return err
		}
		lines[i] = "#" + out
	}
	*field = strings.Join(lines, "\n")
	return nil
}

// keyString returns a mapping key, which sops requires to be a string.
func keyString(k *yaml.Node, path []string) (string, error) {
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("a key in %s is not a scalar", where(path))
	}
	var v any
	if err := k.Decode(&v); err != nil {
		return "", fmt.Errorf("read a key in %s: its YAML tag does not fit it", where(path))
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("key %s in %s is a %T, and sops supports string keys only", k.Value, where(path), v)
	}
	return s, nil
}

// appendPath returns path+key in a new slice, so that a visitor may keep it.
func appendPath(path []string, key string) []string {
	p := make([]string, len(path)+1)
	copy(p, path)
	p[len(path)] = key
	return p
}

// where names a path for an error message. Keys are in clear in a SOPS
// file, so naming them reveals nothing.
func where(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	return strings.Join(path, ".")
}

// additionalData is what AES-GCM binds a value to: its path, each key
// followed by a colon, so a value moved to another key does not decrypt.
func additionalData(path []string) string {
	return strings.Join(path, ":") + ":"
}
