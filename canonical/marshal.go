package canonical

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Marshal returns the canonical YAML of obj: map keys sorted bytewise at
// every depth, list order kept, integers written exactly, no line wrapping
// (go.yaml.in/yaml/v3 does not wrap by default, unlike the go-yaml v2 that
// sigs.k8s.io/yaml emits through), two-space indentation. The same object
// always gives the same bytes, and Parse(Marshal(obj)) marshals to the same
// bytes again. Strings that a YAML 1.1 reader (kubectl's) would take for
// something else are quoted.
//
// Marshal shares nothing between calls: a caller that marshals many
// objects keeps an Encoder, which writes the same bytes faster.
func Marshal(obj *unstructured.Unstructured) ([]byte, error) {
	return new(Encoder).Marshal(obj)
}

// marshalYAMLv3 is Marshal through yaml.v3's encoder, for the objects emit
// leaves to it, and the reference emit is tested against.
func marshalYAMLv3(obj *unstructured.Unstructured) ([]byte, error) {
	root, err := node(obj.Object)
	if err == nil {
		var out []byte
		if out, err = encode(root); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("marshal %s %s: %w", obj.GetKind(), obj.GetName(), err)
}

// encode writes n with yaml.v3's encoder, indented by two spaces.
func encode(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func node(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case nil:
		return scalar("!!null", "null"), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, 2*len(keys))}
		for _, k := range keys {
			val, err := node(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			n.Content = append(n.Content, stringNode(k), val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, 0, len(v))}
		for i, e := range v {
			val, err := node(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	case string:
		return stringNode(v), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(v)), nil
	case int64:
		return scalar("!!int", strconv.FormatInt(v, 10)), nil
	case int:
		return scalar("!!int", strconv.Itoa(v)), nil
	case int32:
		return scalar("!!int", strconv.FormatInt(int64(v), 10)), nil
	case float64:
		return floatNode(v)
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

// floatNode writes integral floats as integers: JSON does not tell 1 from
// 1.0, and the unstructured decoder reads "1" back as int64, so writing them
// as integers is what makes Marshal → Parse → Marshal an identity.
func floatNode(f float64) (*yaml.Node, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%v is not a JSON number", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return scalar("!!int", strconv.FormatInt(int64(f), 10)), nil
	}
	return scalar("!!float", strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// sexagesimal matches YAML 1.1 base-60 numbers ("12:30"), which a YAML 1.1
// reader may take for a number.
var sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$`)

func stringNode(s string) *yaml.Node {
	n := scalar("!!str", s)
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		// YAML 1.1 booleans: yaml/v3 reads them as strings, kubectl's
		// reader as booleans.
		n.Style = yaml.DoubleQuotedStyle
	default:
		if len(s) > 0 && s[0] >= '0' && s[0] <= '9' || len(s) > 1 && (s[0] == '-' || s[0] == '+') {
			if sexagesimal.MatchString(s) {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
	}
	return n
}
