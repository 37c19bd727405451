// Command kubesnap keeps a Kubernetes cluster's whole state in a git
// repository: snapshot commits it, watch commits every change as it
// happens, log lists the snapshots, gc packs the repository, diff shows the drift between a
// revision and the live cluster (or another revision), restore applies a
// revision back, rules shows the normalization rules and what they
// remove from an object, and history, show and blame say who changed an
// object and when, from the repository alone.
//
// This package is the only place that wires the adapters (internal/kube,
// internal/gitstore, internal/sops) into the core (sync, diff, restore).
// Every command follows one shape: flags, then a validated options struct
// (errors in the command line are usageError: exit 2 and a hint), then a
// runX(ctx, opts, …) that tests call. The configuration file is loaded
// before any command runs (root.go's PersistentPreRunE): it sets the flags
// the command line left alone, and its normalize: rules reach the
// commands through the context (rulesOf).
//
// # Files
//
//	main.go               main: signal context, root command (as invoked), exit code (exitCode)
//	errors.go             usageError (exit 2) and exitError (a given code: diff's 1 for drift)
//	root.go               the root command and --config; flags every command shares: the
//	                      cluster (cli-runtime), the filters, -o (formats); writeJSON
//	connect.go            opening the repository and the cluster (snapshot, watch)
//
// Each command has its flags and options in <command>.go; the bigger ones
// have their run in <command>_run.go:
//
//	snapshot.go           kubesnap snapshot (snapshot_run.go)
//	drift.go              snapshot --base: the drift commit's message and report
//	watch.go              kubesnap watch: flags, validated options (watch_run.go: the wiring)
//	watch_metrics.go      the watcher's Prometheus metrics, /healthz and /readyz
//	watch_metrics_maintain.go  the metrics of the watcher's repository maintenance
//	log.go                kubesnap log: flags, --since/--until, the run
//	log_output.go         its table and JSON array, written entry by entry
//	gc.go                 kubesnap gc: the repository maintenance by hand, and what it did
//	diff.go               kubesnap diff (diff_run.go: compare, and the report)
//	restore.go            kubesnap restore (restore_run.go: plan, apply, the restore tag)
//	restore_output.go     restore's plan and report on the terminal, the confirmation
//	rules.go              kubesnap rules: the built-in and the file's rules
//	rules_explain.go      kubesnap rules --explain: what each rule removes from one object
//	history.go            kubesnap history: an object's changes, who and what, the diffs (-p)
//	history_fields.go     the fields that differ between two versions of an object
//	history_output.go     history's table and JSON array, written change by change
//	show.go               kubesnap show: an object as a revision (or --at a time) stored it
//	show_secret.go        stored files opened (decrypted or in their redacted form), Secret values hidden
//	blame.go              kubesnap blame: each line of a stored object with its last commit
//	blame_lines.go        the lines matched back through the object's history
//	blame_redact.go       a Secret's lines with its values hidden
//	objectref.go          TYPE/NAMESPACE/NAME resolved against the repository's folders, no cluster
//
// Flag groups and the configuration file:
//
//	remoteflags.go        --remote and its credentials (snapshot, watch)
//	secrets.go            --secrets and the age recipients (--age-recipient, --age-recipients-file)
//	secrets_digestkey.go  the key of the Secret digests: --digest-key, --digest-key-secret
//	secrets_identity.go   --age-identity and SOPS_AGE_KEY_FILE, to decrypt
//	secrets_sensitive.go  --sensitive-resources checked against the served types
//	config.go             the configuration file's settings, each the flag it stands for
//	config_find.go        where the file is: --config, beside --repo, $XDG_CONFIG_HOME
//	config_parse.go       reading it: sections, fields, the normalize: rules
//	config_decode.go      one field's value against its kind (path, duration, list, …)
//	config_errors.go      every mistake in the file, one line each
//	config_apply.go       setting the command's flags from it; rulesOf, configOf
//
// Shell completion and the kubectl plugin:
//
//	complete.go           completion bounded and quiet (quietly); the flags completed by
//	                      name (addCompletions); revisions, branches, --secrets
//	complete_kubeconfig.go  the kubeconfig flags as typed; --context, --cluster, --user
//	complete_objects.go   types, namespaces and names, from the cluster or a revision: the
//	                      filters and history/show/blame's TYPE/NAMESPACE/NAME
//	plugin.go             run as kubectl-snap (kubectl snap) or kubectl_complete-snap
//
// The tests run the command line as a user would (kubesnap in
// main_test.go) against a control plane from internal/testenv; the ones
// that need it call testenv.Require, so that go test -short skips them
// when the binaries are not built.
package main
