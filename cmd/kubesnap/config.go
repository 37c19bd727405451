package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// The configuration file: one place for everything the flags say, and the
// user's normalization rules. Flags override the file; the file overrides
// the built-in defaults. Each setting is the flag of the same meaning, so
// that a command takes from the file exactly the settings it has flags
// for (a file shared by watch and restore is fine for both).

const (
	configAPIVersion = "kubesnap.io/v1alpha1"
	configKind       = "Config"
	// configName is the file looked for beside the repository.
	configName = "kubesnap.yaml"
)

// valueKind is the YAML shape a setting takes.
type valueKind int

const (
	kindString valueKind = iota
	kindPath             // a string; relative to the file's folder
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindList   // a sequence of strings
	kindRemote // a git remote: a local path in it is relative to the file's folder
)

// setting is one field of the file and the flag it stands for. check, if
// set, validates the value at load time, so that a mistake is reported
// with its line whichever command reads the file.
type setting struct {
	key   string // section.field, as written in the file
	flag  string
	kind  valueKind
	check func(string) error
	// allowed is what the error says is allowed, for enumerations.
	allowed []string
	// positive: numbers must be more than 0.
	positive bool
}

// settings lists every field of every section, in the order `kubesnap
// help config` and the example file show them.
var settings = []setting{
	{key: "cluster.kubeconfig", flag: "kubeconfig", kind: kindPath},
	{key: "cluster.context", flag: "context"},
	{key: "cluster.cluster", flag: "cluster"},
	{key: "cluster.user", flag: "user"},
	{key: "cluster.server", flag: "server"},
	{key: "cluster.requestTimeout", flag: "request-timeout"},

	{key: "repository.dir", flag: "repo", kind: kindPath},
	{key: "repository.branch", flag: "branch"},
	{key: "repository.path", flag: "path"},
	{key: "repository.bare", flag: "bare", kind: kindBool},
	{key: "repository.author", flag: "author", check: checkAuthor},

	{key: "remote.url", flag: "remote", kind: kindRemote},
	{key: "remote.tokenEnv", flag: "git-token-env"},
	{key: "remote.tokenFile", flag: "git-token-file", kind: kindPath},
	{key: "remote.username", flag: "git-username"},
	{key: "remote.sshKeyFile", flag: "ssh-key-file", kind: kindPath},
	{key: "remote.sshKnownHosts", flag: "ssh-known-hosts", kind: kindPath},

	{key: "watch.debounce", flag: "debounce", kind: kindDuration},
	{key: "watch.maxDelay", flag: "max-delay", kind: kindDuration},
	{key: "watch.schedule", flag: "schedule", check: checkSchedule},
	{key: "watch.keepSnapshots", flag: "keep-snapshots", kind: kindInt},
	{key: "watch.snapshotRetention", flag: "snapshot-retention", kind: kindDuration},
	{key: "watch.rediscover", flag: "rediscover", kind: kindDuration},
	{key: "watch.listen", flag: "listen"},
	{key: "watch.logFormat", flag: "log-format", allowed: []string{"text", "json"}},
	{key: "watch.leaderElect", flag: "leader-elect", kind: kindBool},
	{key: "watch.leaderElectNamespace", flag: "leader-elect-namespace"},
	{key: "watch.leaderElectID", flag: "leader-elect-id"},
	{key: "watch.leaderElectLeaseDuration", flag: "leader-elect-lease-duration", kind: kindDuration},

	{key: "filters.includeNamespaces", flag: "include-namespaces", kind: kindList},
	{key: "filters.excludeNamespaces", flag: "exclude-namespaces", kind: kindList},
	{key: "filters.includeResources", flag: "include-resources", kind: kindList},
	{key: "filters.excludeResources", flag: "exclude-resources", kind: kindList},
	{key: "filters.selector", flag: "selector", check: checkSelector},

	{key: "secrets.mode", flag: "secrets", allowed: []string{"redact", "encrypt", "skip", "plain"}},
	{key: "secrets.ageRecipients", flag: "age-recipient", kind: kindList},
	{key: "secrets.ageRecipientsFile", flag: "age-recipients-file", kind: kindPath},
	{key: "secrets.ageIdentity", flag: "age-identity", kind: kindPath},
	{key: "secrets.sensitiveResources", flag: "sensitive-resources", kind: kindList},
	{key: "secrets.digestKey", flag: "digest-key", kind: kindPath},
	{key: "secrets.digestKeySecret", flag: "digest-key-secret"},
	{key: "secrets.allowStaleSecrets", flag: "allow-stale-secrets", kind: kindBool},

	{key: "restore.force", flag: "force", kind: kindBool},
	{key: "restore.prune", flag: "prune", kind: kindBool},
	{key: "restore.recreate", flag: "recreate", kind: kindBool},
	{key: "restore.namespaceMap", flag: "namespace-map", kind: kindList},
	{key: "restore.kustomize", flag: "kustomize", kind: kindPath},
	{key: "restore.workers", flag: "workers", kind: kindInt, positive: true},
	{key: "restore.qps", flag: "qps", kind: kindFloat, positive: true},
	{key: "restore.burst", flag: "burst", kind: kindInt, positive: true},
}

// rulesSection is the key of the normalization rules.
const rulesSection = "normalize"

func checkAuthor(s string) error {
	if _, err := mail.ParseAddress(s); err != nil {
		return errors.New(`want "Name <email>"`)
	}
	return nil
}

func checkSchedule(s string) error {
	_, err := snapsync.ParseSchedule(s)
	return err
}

func checkSelector(s string) error {
	_, err := canonical.ParseSelector(s)
	return err
}

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

// configError lists every mistake in a configuration file, one line each
// ("FILE:LINE: FIELD: what is wrong, what is allowed"). It is a usage
// error: the command exits 2.
type configError struct {
	file  string
	lines []string
	at    []int // the line in the file of each of lines
}

func (e *configError) Error() string {
	what := "errors"
	if len(e.lines) == 1 {
		what = "error"
	}
	order := make([]int, len(e.lines))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return e.at[a] - e.at[b] })
	lines := make([]string, len(order))
	for i, j := range order {
		lines[i] = e.lines[j]
	}
	return fmt.Sprintf("%s: %d %s; fix the file and run again:\n%s", e.file, len(e.lines), what, strings.Join(lines, "\n"))
}

func (e *configError) add(line int, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.at = append(e.at, line)
	switch {
	case line > 0 && field != "":
		e.lines = append(e.lines, fmt.Sprintf("%s:%d: %s: %s", e.file, line, field, msg))
	case line > 0:
		e.lines = append(e.lines, fmt.Sprintf("%s:%d: %s", e.file, line, msg))
	default:
		e.lines = append(e.lines, fmt.Sprintf("%s: %s", e.file, msg))
	}
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

// apply sets every flag of fs that the file gives and the command line
// does not. Flags fs does not have are settings of other commands.
func (cfg *config) apply(fs *pflag.FlagSet) error {
	errs := &configError{file: cfg.file}
	for _, v := range cfg.values {
		f := fs.Lookup(v.flag)
		if f == nil || f.Changed {
			continue
		}
		var err error
		if v.kind == kindList {
			sv, ok := f.Value.(pflag.SliceValue)
			if !ok {
				err = fmt.Errorf("--%s takes no list", v.flag)
			} else {
				err = sv.Replace(v.list)
			}
		} else {
			err = f.Value.Set(v.scalar)
		}
		if err != nil {
			errs.add(v.line, v.key, "%v", err)
		}
	}
	if len(errs.lines) > 0 {
		return errs
	}
	return nil
}

// configFile finds the configuration file: --config if given (it must
// exist), else kubesnap.yaml beside the repository (in the folder that
// holds --repo), else $XDG_CONFIG_HOME/kubesnap/config.yaml. It returns ""
// when there is none.
func configFile(explicit, repo string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", usageError{fmt.Errorf("--config %s: %w; give an existing file, or leave --config out to use %s beside --repo's folder", explicit, unwrapPathError(err), configName)}
		}
		return explicit, nil
	}
	var candidates []string
	if repo != "" {
		if abs, err := filepath.Abs(repo); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(abs), configName))
		}
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		candidates = append(candidates, filepath.Join(dir, "kubesnap", "config.yaml"))
	} else if dir, err := os.UserConfigDir(); err == nil {
		// ~/.config on Linux; the system's own folder elsewhere.
		candidates = append(candidates, filepath.Join(dir, "kubesnap", "config.yaml"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("configuration file %s: %w", c, unwrapPathError(err))
		}
	}
	return "", nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadConfig finds, reads and applies the configuration file for cmd, and
// puts its rules in cmd's context (see rulesOf).
func loadConfig(cmd *cobra.Command, explicit string) error {
	repo := ""
	if f := cmd.Flags().Lookup("repo"); f != nil {
		repo = f.Value.String()
	}
	file, err := configFile(explicit, repo)
	if err != nil || file == "" {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("configuration file %s: %w", file, unwrapPathError(err))
	}
	cfg, err := parseConfig(file, data)
	if err != nil {
		return usageError{err}
	}
	if err := cfg.apply(cmd.Flags()); err != nil {
		return usageError{err}
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cmd.SetContext(context.WithValue(ctx, configKey{}, cfg))
	return nil
}

type configKey struct{}

// rulesOf returns the normalization rules of the configuration file the
// command loaded, if any.
func rulesOf(ctx context.Context) canonical.Rules {
	if cfg := configOf(ctx); cfg != nil {
		return cfg.rules
	}
	return nil
}

// configOf returns the configuration file the command loaded, or nil.
func configOf(ctx context.Context) *config {
	cfg, _ := ctx.Value(configKey{}).(*config)
	return cfg
}
