package sops

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

// ErrModified is wrapped by Decrypt's errors that mean the file is not as
// Encrypt (or sops) wrote it: its MAC does not match its values, or an
// encrypted value does not authenticate at its place.
var ErrModified = errors.New("the file was changed after encryption")

// ErrNotEncrypted is returned by Decrypt for a document that is not a SOPS
// file.
var ErrNotEncrypted = errors.New("not a SOPS file: it has no top-level sops key with a mac")

// Encrypt returns doc — one YAML document holding a Kubernetes object,
// as kubesnap's canonical.Marshal writes it (keys sorted bytewise) — in the
// SOPS file format: every value under a key matching encryptedRegex encrypted
// with AES256-GCM under a fresh data key; the data key encrypted for each age
// recipient; encrypted_regex, lastmodified (now, UTC) and the MAC recorded in
// a top-level sops key, which comes last, where sops writes it.
//
// Everything else is kept as it was: keys, their order, values in clear and
// their style. Each call draws a new data key and new IVs, so encrypting the
// same document twice gives different bytes: a caller that wants an
// unchanged object to keep its file must compare plaintexts, not outputs.
func Encrypt(doc []byte, recipients []age.Recipient, encryptedRegex string, now time.Time) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypt: no age recipient given")
	}
	if encryptedRegex == "" {
		return nil, errors.New("encrypt: the encrypted regex is empty")
	}
	re, err := regexp.Compile(encryptedRegex)
	if err != nil {
		return nil, fmt.Errorf("encrypt: encrypted regex %q is not a regular expression", encryptedRegex)
	}
	root, err := parseDocument(doc)
	if err != nil {
		return nil, err
	}
	if i := metadataIndex(root); i >= 0 {
		return nil, errors.New("encrypt: the document already has a top-level sops key (it is a SOPS file already)")
	}
	key, ageKeys, err := newDataKey(recipients)
	if err != nil {
		return nil, err
	}
	mac := sha512.New()
	w := walker{
		rules: &rules{encryptedRegex: re},
		visit: visitor{
			leaf: func(n *yaml.Node, v any, path []string, encrypted bool) error {
				b, _, err := valueBytes(v)
				if err != nil {
					return fmt.Errorf("encrypt the value at %s: %w", where(path), err)
				}
				mac.Write(b)
				if !encrypted {
					return nil
				}
				s, err := encryptValue(v, key, additionalData(path))
				if err != nil {
					return fmt.Errorf("encrypt the value at %s: %w", where(path), err)
				}
				setString(n, s)
				return nil
			},
			comment: func(text string, path []string, encrypted bool) (string, error) {
				if !encrypted {
					return text, nil
				}
				s, err := encryptValue(comment(text), key, additionalData(path))
				if err != nil {
					return "", fmt.Errorf("encrypt a comment in %s: %w", where(path), err)
				}
				return s, nil
			},
		},
	}
	if err := w.walkDocument(root); err != nil {
		return nil, err
	}
	modified := lastModified(now.UTC())
	encMAC, err := encryptValue(macText(mac), key, modified)
	if err != nil {
		return nil, fmt.Errorf("encrypt the MAC: %w", err)
	}
	var md yaml.Node
	if err := md.Encode(written{
		Age:            ageKeys,
		EncryptedRegex: encryptedRegex,
		LastModified:   modified,
		MAC:            encMAC,
		Version:        formatVersion,
	}); err != nil {
		return nil, fmt.Errorf("encrypt: write the sops metadata: %w", err)
	}
	m := root.Content[0]
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: metadataKey}, &md)
	return emit(root)
}

// Decrypt verifies the MAC and returns the document with every value
// decrypted and the sops key removed. It reads what Encrypt writes and what
// the sops binary writes for age recipients, whatever the key order and the
// encryption rule (encrypted_regex, unencrypted_suffix, …, and
// mac_only_encrypted): it walks the values in document order, as sops does.
// Comments that sops encrypted are decrypted too.
//
// Errors wrap ErrNotEncrypted, ErrNoIdentity or ErrModified where those
// apply; none holds a value, decrypted or not, or a key.
func Decrypt(doc []byte, ids []age.Identity) ([]byte, error) {
	root, err := parseDocument(doc)
	if err != nil {
		return nil, err
	}
	i := metadataIndex(root)
	if i < 0 {
		return nil, ErrNotEncrypted
	}
	m := root.Content[0]
	var md metadata
	if err := m.Content[i+1].Decode(&md); err != nil {
		return nil, errors.New("read the sops metadata: it does not have the fields sops writes")
	}
	if md.MAC == "" {
		return nil, ErrNotEncrypted
	}
	modifiedAt, err := time.Parse(time.RFC3339, md.LastModified)
	if err != nil {
		return nil, fmt.Errorf("read the sops metadata: lastmodified %q is not an RFC 3339 time", md.LastModified)
	}
	rules, err := md.rules()
	if err != nil {
		return nil, err
	}
	keys, err := md.ageKeys()
	if err != nil {
		return nil, err
	}
	key, err := openDataKey(keys, ids)
	if err != nil {
		return nil, err
	}
	mac := newMAC(rules.macOnlyEncrypted)
	asComments := make(map[*yaml.Node]string)
	w := walker{
		rules: rules,
		visit: visitor{
			leaf: func(n *yaml.Node, v any, path []string, encrypted bool) error {
				if encrypted {
					s, ok := v.(string)
					if !ok {
						return fmt.Errorf("the value at %s is a %T in clear, though the file's rules encrypt it: %w", where(path), v, ErrModified)
					}
					p, err := decryptValue(s, key, additionalData(path))
					switch {
					case errors.Is(err, errNotEncValue):
						return fmt.Errorf("the value at %s is in clear, though the file's rules encrypt it: %w", where(path), ErrModified)
					case errors.Is(err, errAuth):
						return fmt.Errorf("the value at %s does not decrypt: %w", where(path), ErrModified)
					case err != nil:
						return fmt.Errorf("decrypt the value at %s: %w", where(path), err)
					}
					if c, ok := p.(comment); ok {
						// sops writes an encrypted comment in a list as an
						// item; it is a comment again, and not in the MAC.
						asComments[n] = string(c)
						return nil
					}
					v = p
					if err := setValue(n, v); err != nil {
						return fmt.Errorf("decrypt the value at %s: %w", where(path), err)
					}
				}
				if !rules.macOnlyEncrypted || encrypted {
					b, _, err := valueBytes(v)
					if err != nil {
						return fmt.Errorf("the value at %s: %w", where(path), err)
					}
					mac.Write(b)
				}
				return nil
			},
			comment: func(text string, path []string, encrypted bool) (string, error) {
				if !encrypted {
					return text, nil
				}
				p, err := decryptValue(text, key, additionalData(path))
				if err != nil {
					// As sops does: a comment that does not decrypt
					// was written in clear (by hand, or by an old sops).
					return text, nil
				}
				b, _, err := valueBytes(p)
				if err != nil {
					return text, nil
				}
				return string(b), nil
			},
		},
	}
	if err := w.walkDocument(root); err != nil {
		return nil, err
	}
	stored, err := decryptValue(md.MAC, key, lastModified(modifiedAt))
	if err != nil {
		return nil, fmt.Errorf("MAC mismatch: %w (its mac or lastmodified was altered)", ErrModified)
	}
	s, ok := stored.(string)
	if !ok || subtle.ConstantTimeCompare([]byte(s), []byte(macText(mac))) != 1 {
		return nil, fmt.Errorf("MAC mismatch: %w", ErrModified)
	}
	removeMetadata(m, i)
	if len(asComments) > 0 {
		restoreComments(m, asComments)
	}
	return emit(root)
}

// removeMetadata removes the sops key at index i of the root mapping m.
// Comments above it (the file's last comments, in a file sops wrote) move to
// the key after it, or to the end of the mapping.
func removeMetadata(m *yaml.Node, i int) {
	head := m.Content[i].HeadComment
	m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
	switch {
	case head == "":
	case i < len(m.Content):
		m.Content[i].HeadComment = strings.TrimSuffix(head+"\n"+m.Content[i].HeadComment, "\n")
	default:
		m.FootComment = strings.TrimPrefix(m.FootComment+"\n"+head, "\n")
	}
}

// restoreComments turns the list items in items back into comment lines
// above the next item (or below the last one). Anywhere else, such a value
// becomes its text.
func restoreComments(n *yaml.Node, items map[*yaml.Node]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if text, ok := items[n.Content[i]]; ok {
				setString(n.Content[i], text)
				continue
			}
			restoreComments(n.Content[i], items)
		}
	case yaml.SequenceNode:
		var kept []*yaml.Node
		var pending []string
		for _, item := range n.Content {
			if text, ok := items[item]; ok {
				pending = append(pending, "#"+text)
				continue
			}
			restoreComments(item, items)
			if len(pending) > 0 {
				item.HeadComment = strings.Join(append(pending, item.HeadComment), "\n")
				item.HeadComment = strings.TrimSuffix(item.HeadComment, "\n")
				pending = nil
			}
			kept = append(kept, item)
		}
		if len(pending) > 0 {
			if len(kept) > 0 {
				last := kept[len(kept)-1]
				last.FootComment = strings.TrimPrefix(last.FootComment+"\n"+strings.Join(pending, "\n"), "\n")
			} else {
				n.HeadComment = strings.TrimPrefix(n.HeadComment+"\n"+strings.Join(pending, "\n"), "\n")
			}
		}
		n.Content = kept
	}
}

// IsEncrypted reports whether doc is a SOPS file: a YAML mapping with a
// top-level sops mapping that has a mac.
func IsEncrypted(doc []byte) bool {
	root, err := parseDocument(doc)
	if err != nil {
		return false
	}
	i := metadataIndex(root)
	if i < 0 {
		return false
	}
	md := root.Content[0].Content[i+1]
	if md.Kind != yaml.MappingNode {
		return false
	}
	for j := 0; j+1 < len(md.Content); j += 2 {
		if md.Content[j].Value == "mac" && md.Content[j+1].Kind == yaml.ScalarNode && md.Content[j+1].Value != "" {
			return true
		}
	}
	return false
}

// newMAC returns the hash sops computes its MAC with. With
// mac_only_encrypted it starts from SHA-256("sops"), so that such a MAC never
// equals one over all the values.
func newMAC(onlyEncrypted bool) hash.Hash {
	h := sha512.New()
	if onlyEncrypted {
		seed := sha256.Sum256([]byte("sops"))
		h.Write(seed[:])
	}
	return h
}

// macText is the MAC's plaintext: the hash in upper-case hex.
func macText(h hash.Hash) string {
	return strings.ToUpper(fmt.Sprintf("%x", h.Sum(nil)))
}

// parseDocument parses one YAML document whose root is a mapping.
func parseDocument(doc []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the document is empty")
		}
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document")
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a YAML mapping")
	}
	return &root, nil
}

// metadataIndex returns the index in the root mapping's content of the sops
// key, or -1.
func metadataIndex(root *yaml.Node) int {
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == metadataKey {
			return i
		}
	}
	return -1
}

// emit writes doc as canonical.Marshal does: two-space indentation.
func emit(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// setString makes n the plain string s, keeping its comments.
func setString(n *yaml.Node, s string) {
	n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", s, 0
	if yaml11Ambiguous(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
}

// setValue makes n the decrypted value v, keeping its comments.
func setValue(n *yaml.Node, v any) error {
	switch v := v.(type) {
	case string:
		setString(n, v)
	case []byte:
		setString(n, string(v))
	case comment:
		setString(n, string(v))
	case int:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!int", strconv.Itoa(v), 0
	case bool:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!bool", strconv.FormatBool(v), 0
	default:
		var e yaml.Node
		if err := e.Encode(v); err != nil {
			return fmt.Errorf("a %T does not write as YAML", v)
		}
		n.Kind, n.Tag, n.Value, n.Style = e.Kind, e.Tag, e.Value, e.Style
	}
	return nil
}

// sexagesimal matches YAML 1.1 base-60 numbers ("12:30").
var sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$`)

// yaml11Ambiguous reports whether a YAML 1.1 reader (kubectl's) would take
// the plain scalar s for a boolean or a number, although YAML 1.2 reads it as
// a string. Such strings are double-quoted, as canonical.Marshal quotes them,
// so a decrypted file reads the same everywhere and matches the file
// kubesnap encrypted.
func yaml11Ambiguous(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return s != "" && strings.ContainsRune(s, ':') && sexagesimal.MatchString(s)
}
