package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Flags that cannot work are refused before anything starts.
func TestBadFlagsAreRefusedBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		f    flags
		want string
	}{
		{flags{kubeconfig: filepath.Join(dir, "kc"), auditAddr: "127.0.0.1:1"}, "together"},
		{flags{kubeconfig: filepath.Join(dir, "kc"), auditPolicy: "policy.yaml"}, "together"},
		{flags{kubeconfig: filepath.Join(dir, "kc"), auditAddr: "127.0.0.1:1", auditPolicy: filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{flags{kubeconfig: filepath.Join(dir, "kc"), auditAddr: "no-port", auditPolicy: "../../../deploy/audit/policy.yaml"}, "no-port"},
	} {
		err := run(t.Context(), tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%+v) = %v, want an error naming %q", tc.f, err, tc.want)
		}
	}
}
