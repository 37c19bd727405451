package testenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestUsersGetATokenEachAndBadNamesAreRefused(t *testing.T) {
	dir := t.TempDir()
	if err := writeTokens(dir, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tokens.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{userToken("alice") + ",alice,alice-uid", userToken("bob") + ",bob,bob-uid", limitedToken + "," + LimitedUser} {
		if !strings.Contains(string(data), line) {
			t.Errorf("tokens.csv lacks %q:\n%s", line, data)
		}
	}
	for _, users := range [][]string{{""}, {"admin"}, {LimitedUser}, {"a", "a"}, {"a,b"}, {"a\nb"}, {`a"b`}, {"a/b"}} {
		if err := writeTokens(t.TempDir(), users); err == nil {
			t.Errorf("users %q accepted", users)
		}
	}
}

func TestAuditFilesAndFlags(t *testing.T) {
	dir := t.TempDir()
	args, err := writeAudit(dir, Options{AuditPolicy: []byte("policy"), AuditWebhookKubeconfig: []byte("kubeconfig")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--audit-policy-file", filepath.Join(dir, "audit-policy.yaml"), "--audit-webhook-config-file", filepath.Join(dir, "audit-webhook.kubeconfig")}
	if !slices.Equal(args, want) {
		t.Errorf("args %q, want %q", args, want)
	}
	for file, content := range map[string]string{"audit-policy.yaml": "policy", "audit-webhook.kubeconfig": "kubeconfig"} {
		if data, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(data) != content {
			t.Errorf("%s: %q, %v", file, data, err)
		}
	}
	if args, err := writeAudit(t.TempDir(), Options{}); err != nil || args != nil {
		t.Errorf("no audit options: %q, %v", args, err)
	}
	if _, err := writeAudit(t.TempDir(), Options{AuditWebhookKubeconfig: []byte("kubeconfig")}); err == nil || !strings.Contains(err.Error(), "AuditPolicy") {
		t.Errorf("a webhook without a policy: %v", err)
	}
}
