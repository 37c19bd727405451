package main

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"go.yaml.in/yaml/v3"
)

// configValue is one setting as the file gives it.
type configValue struct {
	setting
	line   int
	scalar string
	list   []string
}

// config is a loaded configuration file.
type config struct {
	file   string
	values []configValue
	rules  canonical.Rules
}

// parseConfig reads a configuration file's bytes; file names it in errors
// and anchors relative paths. Every mistake is reported, not only the
// first.
func parseConfig(file string, data []byte) (*config, error) {
	errs := &configError{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		errs.add(0, "", "not YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, errs
	}
	cfg := &config{file: file}
	root := canonical.ResolveNode(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		errs.add(0, "", "want a mapping with apiVersion: %s and kind: %s", configAPIVersion, configKind)
		return nil, errs
	}
	sections := map[string]bool{}
	for _, s := range settings {
		sec, _, _ := strings.Cut(s.key, ".")
		sections[sec] = true
	}
	var seen = map[string]bool{}
	var apiVersion, kind bool
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], canonical.ResolveNode(root.Content[i+1])
		if seen[k.Value] {
			errs.add(k.Line, k.Value, "given twice")
			continue
		}
		seen[k.Value] = true
		switch {
		case k.Value == "apiVersion":
			apiVersion = true
			if v == nil || v.Kind != yaml.ScalarNode || v.Value != configAPIVersion {
				errs.add(k.Line, k.Value, "want %s", configAPIVersion)
			}
		case k.Value == "kind":
			kind = true
			if v == nil || v.Kind != yaml.ScalarNode || v.Value != configKind {
				errs.add(k.Line, k.Value, "want %s", configKind)
			}
		case k.Value == rulesSection:
			rules, err := canonical.DecodeRules(v)
			var re canonical.RuleErrors
			switch {
			case errors.As(err, &re):
				for _, e := range re {
					errs.add(e.Line, e.Where, "%s", e.Msg)
				}
			case err != nil:
				errs.add(k.Line, k.Value, "%v", err)
			}
			cfg.rules = rules
		case sections[k.Value]:
			cfg.section(errs, k, v)
		default:
			errs.add(k.Line, k.Value, "unknown field; allowed: apiVersion, kind, %s, %s", strings.Join(slices.Sorted(maps.Keys(sections)), ", "), rulesSection)
		}
	}
	if !apiVersion {
		errs.add(root.Line, "apiVersion", "missing; want %s", configAPIVersion)
	}
	if !kind {
		errs.add(root.Line, "kind", "missing; want %s", configKind)
	}
	if len(errs.lines) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// section reads one section's fields.
func (cfg *config) section(errs *configError, k, v *yaml.Node) {
	if v == nil || v.Tag == "!!null" {
		return // an empty section
	}
	if v.Kind != yaml.MappingNode {
		errs.add(k.Line, k.Value, "want a mapping of fields")
		return
	}
	var fields []string
	for _, s := range settings {
		if sec, f, _ := strings.Cut(s.key, "."); sec == k.Value {
			fields = append(fields, f)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := v.Content[i], canonical.ResolveNode(v.Content[i+1])
		key := k.Value + "." + fk.Value
		if seen[key] {
			errs.add(fk.Line, key, "given twice")
			continue
		}
		seen[key] = true
		idx := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
		if idx < 0 {
			errs.add(fk.Line, key, "unknown field; allowed in %s: %s", k.Value, strings.Join(fields, ", "))
			continue
		}
		if fv == nil || fv.Tag == "!!null" {
			continue // left to the flag's default
		}
		val, err := settings[idx].decode(fv, filepath.Dir(cfg.file))
		if err != nil {
			errs.add(fv.Line, key, "%v", err)
			continue
		}
		val.line = fv.Line
		cfg.values = append(cfg.values, val)
	}
}
