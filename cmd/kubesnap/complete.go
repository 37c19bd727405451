package main

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
)

// Shell completion of flag values and arguments, through cobra's hidden
// __complete command (what the scripts of kubesnap completion SHELL
// run at each TAB). It is best effort and quiet: a repository or a
// cluster that cannot be read gives no completions, never an error, and
// no completion waits longer than completionTimeout.

// completionTimeout bounds one completion: a shell waits on it.
const completionTimeout = 5 * time.Second

// completionRequestTimeout bounds each request to a cluster, shorter
// than completionTimeout so that, when a cluster does not answer, the
// repository can still answer in time.
const completionRequestTimeout = 3 * time.Second

// completionCommits is how many of the newest commits --rev offers.
const completionCommits = 30

// completer finds the completions of toComplete; ctx ends at
// completionTimeout.
type completer func(ctx context.Context, cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)

// quietly turns c into a cobra completion function that applies the
// configuration file first (as the command would), returns no
// completions rather than wait past completionTimeout (a cluster that
// takes connections but never answers, a credential plugin that hangs),
// and rather than panic on a hostile repository. It then leaves c
// running: the process ends once the shell has its answer.
func quietly(c completer) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		type answer struct {
			comps     []cobra.Completion
			directive cobra.ShellCompDirective
		}
		applyConfigQuietly(cmd) // before c reads cmd's flags in another goroutine
		done := make(chan answer, 1)
		go func() {
			defer func() {
				if recover() != nil {
					done <- answer{directive: cobra.ShellCompDirectiveNoFileComp}
				}
			}()
			comps, d := c(ctx, cmd, args, toComplete)
			done <- answer{comps, d}
		}()
		select {
		case a := <-done:
			return a.comps, a.directive
		case <-ctx.Done():
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
}

// applyConfigQuietly applies the configuration file, as the command
// would before running, so that completion reads the --repo and
// kubeconfig it gives; a broken file is left for the command to report.
func applyConfigQuietly(cmd *cobra.Command) {
	if err := loadConfig(cmd, flagValue(cmd, "config")); err != nil {
		return // completion goes on with the flags as typed
	}
}

// flagValue is the value of cmd's flag name as parsed, "" when cmd has
// no such flag.
func flagValue(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// mustRegister registers fn as the completion of cmd's flag name. It
// fails only on a programming error (no such flag, or registered twice),
// which building the root in any test finds.
func mustRegister(cmd *cobra.Command, name string, fn cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(name, fn); err != nil {
		panic(fmt.Sprintf("kubesnap %s: %v", cmd.Name(), err))
	}
}

// addCompletions registers the completion of the flags commands share,
// by name, on cmd and the commands below it: every command with --rev
// completes revisions, every one with --context the kubeconfig's
// contexts. -o is registered with the flag (formats.outputFlag), object
// arguments by each command (completeObjectArg); other arguments complete
// nothing.
func addCompletions(cmd *cobra.Command) {
	byFlag := map[string]completer{
		"rev":                 completeRevisions,
		"to":                  completeRevisions,
		"base":                completeRevisions,
		"branch":              completeBranches,
		"secrets":             completeSecretModes,
		"context":             completeContexts,
		"cluster":             completeClusters,
		"user":                completeUsers,
		"include-resources":   completeTypeList,
		"exclude-resources":   completeTypeList,
		"sensitive-resources": completeTypeList,
		"include-namespaces":  completeNamespaceList,
		"exclude-namespaces":  completeNamespaceList,
	}
	for name, fn := range byFlag {
		if cmd.LocalFlags().Lookup(name) != nil {
			mustRegister(cmd, name, quietly(fn))
		}
	}
	if cmd.ValidArgsFunction == nil {
		// No command of kubesnap takes a file as an argument.
		cmd.ValidArgsFunction = cobra.NoFileCompletions
	}
	for _, sub := range cmd.Commands() {
		addCompletions(sub)
	}
}

// completeSecretModes offers the modes --secrets takes.
func completeSecretModes(_ context.Context, _ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, m := range snapsync.SecretModes {
		out = appendCompletion(out, toComplete, string(m), "")
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionRepo opens the repository the command line names (--repo,
// with --branch and --path) to read: nil when none is named or it
// cannot be read.
func completionRepo(cmd *cobra.Command) *gitstore.Repo {
	dir := flagValue(cmd, "repo")
	if dir == "" {
		return nil
	}
	repo, err := openStored(dir, flagValue(cmd, "branch"), flagValue(cmd, "path"))
	if err != nil {
		return nil
	}
	return repo
}

// completeRevisions offers the branches, tags and newest commits of the
// repository, in that order (the commits newest first, each with its
// subject).
func completeRevisions(_ context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return revisionCompletions(cmd, toComplete, nil)
}

// completeBranches offers the local branches of the repository.
func completeBranches(_ context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return revisionCompletions(cmd, toComplete, func(n gitstore.RevisionName) bool { return n.Kind == gitstore.BranchRevision })
}

// revisionCompletions are the revision names of cmd's repository that
// start with toComplete and that keep takes (nil: all).
func revisionCompletions(cmd *cobra.Command, toComplete string, keep func(gitstore.RevisionName) bool) ([]cobra.Completion, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	repo := completionRepo(cmd)
	if repo == nil {
		return nil, directive
	}
	names, err := repo.RevisionNames(completionCommits)
	if err != nil && len(names) == 0 {
		return nil, directive
	} // else the names read before the error: still worth offering
	var out []cobra.Completion
	for _, n := range names {
		if keep != nil && !keep(n) {
			continue
		}
		what := string(n.Kind)
		if n.Kind == gitstore.CommitRevision {
			what = n.Subject
		}
		out = appendCompletion(out, toComplete, n.Name, what)
	}
	return out, directive
}

// appendCompletion adds value, described, when it starts with
// toComplete and a shell can show it: a value with a control character
// (a hostile repository's file name) is left out, and such characters in
// the description become spaces.
func appendCompletion(out []cobra.Completion, toComplete, value, description string) []cobra.Completion {
	if !strings.HasPrefix(value, toComplete) || strings.IndexFunc(value, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return out
	}
	description = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, description)
	return append(out, cobra.CompletionWithDesc(value, strings.TrimSpace(description)))
}
