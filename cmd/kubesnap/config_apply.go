package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

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
