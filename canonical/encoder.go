package canonical

import (
	"strings"
	gosync "sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An Encoder marshals objects to canonical YAML, as Marshal does, and
// keeps yaml.v3's renderings of the scalars it has written (strings it
// quotes, floats) so that the next object holding them is written without
// yaml.v3. A caller that marshals many objects (a snapshot, a watch, a
// diff) keeps one Encoder for all of them.
//
// The zero Encoder is ready to use, and safe for concurrent use by many
// goroutines. Its cache stops growing at 16,384 renderings of at most 128
// bytes each (a watch runs for months): a few MiB at most. An Encoder must
// not be copied after first use.
type Encoder struct {
	renders    gosync.Map // renderKey → string
	numRenders atomic.Int64
}

// maxRenders bounds an Encoder's cache.
const maxRenders = 1 << 14

// Marshal returns the canonical YAML of obj, byte for byte what the
// package's Marshal returns.
func (e *Encoder) Marshal(obj *unstructured.Unstructured) ([]byte, error) {
	if out, ok := e.emit(make([]byte, 0, 1024), obj.Object); ok {
		return out, nil
	}
	return marshalYAMLv3(obj)
}

type renderKey struct {
	tag, value string
	key        bool
}

// render returns renderScalar(n, key), from the cache when it is there.
func (e *Encoder) render(n *yaml.Node, key bool) (string, bool) {
	rk := renderKey{tag: n.Tag, value: n.Value, key: key}
	if r, ok := e.renders.Load(rk); ok {
		return r.(string), true
	}
	r, ok := renderScalar(n, key)
	if ok && len(n.Value) <= 128 && e.numRenders.Load() < maxRenders {
		if _, loaded := e.renders.LoadOrStore(rk, r); !loaded {
			e.numRenders.Add(1)
		}
	}
	return r, ok
}

// renderScalar returns how yaml.v3 writes scalar n as a mapping's key
// (key) or value; ok is false when that is not one line.
func renderScalar(n *yaml.Node, key bool) (string, bool) {
	doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{scalar("!!str", "k"), n}}
	if key {
		doc.Content = []*yaml.Node{n, scalar("!!int", "0")}
	}
	data, err := encode(doc)
	if err != nil {
		return "", false
	}
	out := string(data)
	var r string
	var ok bool
	if key {
		r, ok = strings.CutSuffix(out, ": 0\n")
	} else if r, ok = strings.CutPrefix(out, "k: "); ok {
		r, ok = strings.CutSuffix(r, "\n")
	}
	// One line: no line break of any kind (YAML counts NEL, LS and PS,
	// which yaml.v3 writes unescaped in quoted scalars, and breaks lines
	// there at the indentation).
	if !ok || strings.ContainsAny(r, "\n\r\u0085\u2028\u2029") || r == "" || r[0] == '|' || r[0] == '>' {
		return "", false
	}
	return r, true
}
