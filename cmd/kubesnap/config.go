package main

import (
	"errors"
	"net/mail"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
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
	{key: "watch.logFormat", flag: "log-format", allowed: textOrJSON()},
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
