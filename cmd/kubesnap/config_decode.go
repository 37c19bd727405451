package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"go.yaml.in/yaml/v3"
)

// decode checks a field's value against its setting's kind.
func (s setting) decode(n *yaml.Node, dir string) (configValue, error) {
	v := configValue{setting: s}
	if s.kind == kindList {
		if n.Kind != yaml.SequenceNode {
			return v, errors.New("want a list of strings")
		}
		for _, item := range n.Content {
			item = canonical.ResolveNode(item)
			if item == nil || item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return v, errors.New("want a list of strings")
			}
			v.list = append(v.list, item.Value)
		}
		return v, nil
	}
	if n.Kind != yaml.ScalarNode {
		return v, errors.New(s.want())
	}
	v.scalar = n.Value
	switch s.kind {
	case kindBool:
		if n.Tag != "!!bool" {
			return v, errors.New(s.want())
		}
	case kindInt:
		i, err := strconv.Atoi(n.Value)
		if err != nil || n.Tag != "!!int" || i < 0 || s.positive && i == 0 {
			return v, errors.New(s.want())
		}
	case kindFloat:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || n.Tag != "!!int" && n.Tag != "!!float" || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || s.positive && f == 0 {
			return v, errors.New(s.want())
		}
	case kindDuration:
		d, err := time.ParseDuration(n.Value)
		if err != nil || d < 0 {
			return v, errors.New(s.want())
		}
	case kindPath:
		if n.Value != "" && !filepath.IsAbs(n.Value) {
			v.scalar = filepath.Join(dir, n.Value)
		}
	case kindRemote:
		// A URL (https://, ssh://, file://) or scp's user@host:path has
		// a colon; a local path has none.
		if n.Value != "" && !strings.Contains(n.Value, ":") && !filepath.IsAbs(n.Value) {
			v.scalar = filepath.Join(dir, n.Value)
		}
	}
	if n.Tag != "!!str" && (s.kind == kindString || s.kind == kindPath || s.kind == kindRemote) {
		return v, errors.New(s.want())
	}
	if len(s.allowed) > 0 && !slices.Contains(s.allowed, n.Value) {
		return v, fmt.Errorf("%q is not allowed; want one of %s", n.Value, strings.Join(s.allowed, ", "))
	}
	if s.check != nil {
		if err := s.check(n.Value); err != nil {
			if strings.Contains(err.Error(), n.Value) {
				return v, err
			}
			return v, fmt.Errorf("%q: %v", n.Value, err)
		}
	}
	return v, nil
}

// want says what a setting's value must be.
func (s setting) want() string {
	switch s.kind {
	case kindBool:
		return "want true or false"
	case kindInt:
		if s.positive {
			return "want a whole number, 1 or more"
		}
		return "want a whole number, 0 or more"
	case kindFloat:
		if s.positive {
			return "want a number more than 0"
		}
		return "want a number, 0 or more"
	case kindDuration:
		return `want a duration such as 30s, 5m or 1h30m`
	case kindList:
		return "want a list of strings"
	}
	return "want a string (quote it)"
}
