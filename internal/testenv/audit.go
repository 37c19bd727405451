package testenv

import (
	"errors"
	"os"
	"path/filepath"
)

// writeAudit writes the audit policy and webhook kubeconfig of opts into
// dir and returns the API server's arguments that use them.
func writeAudit(dir string, opts Options) ([]string, error) {
	if opts.AuditWebhookKubeconfig != nil && opts.AuditPolicy == nil {
		return nil, errors.New("testenv: an audit webhook needs an audit policy (Options.AuditPolicy): without one the API server sends no events")
	}
	var args []string
	if opts.AuditPolicy != nil {
		path := filepath.Join(dir, "audit-policy.yaml")
		if err := os.WriteFile(path, opts.AuditPolicy, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--audit-policy-file", path)
	}
	if opts.AuditWebhookKubeconfig != nil {
		path := filepath.Join(dir, "audit-webhook.kubeconfig")
		if err := os.WriteFile(path, opts.AuditWebhookKubeconfig, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--audit-webhook-config-file", path)
	}
	return args, nil
}
