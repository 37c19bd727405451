package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// varRef is a $(VAR) reference the kubelet expands in args.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func checkWatcherDeployment(t *testing.T, dir string, docs []deployDoc) {
	t.Helper()
	d := decodeDoc[appsv1.Deployment](t, docs, "Deployment", "kubesnap")
	if r := d.Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("replicas = %s, want 2", ptrString(r))
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "kubesnap" {
		t.Errorf("serviceAccountName = %q, want kubesnap", pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("pod or container has no securityContext")
	}
	if nonRoot := sc.RunAsNonRoot; (nonRoot == nil && (psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot)) || (nonRoot != nil && !*nonRoot) {
		t.Error("the container may run as root: want runAsNonRoot: true")
	}
	if uid := sc.RunAsUser; (uid != nil && *uid == 0) || (uid == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
		t.Error("runAsUser is 0")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("container is privileged")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	for _, p := range []*corev1.SeccompProfile{sc.SeccompProfile, psc.SeccompProfile} {
		if p == nil || p.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile = %+v, want RuntimeDefault on pod and container", p)
		}
	}
	if c.Resources.Requests.Cpu().String() != "100m" || c.Resources.Requests.Memory().String() != "128Mi" || c.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("resources = %+v, want requests 100m/128Mi and a 512Mi memory limit", c.Resources)
	}

	// The command line.
	if len(c.Args) == 0 || c.Args[0] != "watch" {
		t.Fatalf("args = %q, want watch first", c.Args)
	}
	if !slices.Contains(c.Args, "--leader-elect") && !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("args %q lack --leader-elect: two replicas would both commit", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, _ := strings.Cut(a, "=")
		flags[name] = value
	}
	if flags["--leader-elect-namespace"] != "$(POD_NAMESPACE)" {
		t.Errorf("--leader-elect-namespace = %q, want $(POD_NAMESPACE)", flags["--leader-elect-namespace"])
	}
	if flags["--listen"] != ":8080" {
		t.Errorf("--listen = %q, want :8080", flags["--listen"])
	}

	// Every $(VAR) must be defined, or the kubelet passes it literally:
	// by env, or by a key of an envFrom ConfigMap that is in the build.
	vars := map[string]string{}
	for _, e := range c.Env {
		vars[e.Name] = e.Value
		if e.Name == "POD_NAMESPACE" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace") {
			t.Errorf("POD_NAMESPACE is not from the downward API metadata.namespace: %+v", e)
		}
	}
	if _, ok := vars["POD_NAMESPACE"]; !ok {
		t.Error("no POD_NAMESPACE in the environment")
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Errorf("envFrom %+v: only ConfigMaps expected", ef)
			continue
		}
		cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-config")
		if cm.Name != ef.ConfigMapRef.Name {
			t.Errorf("envFrom names ConfigMap %s, the build has %s", ef.ConfigMapRef.Name, cm.Name)
		}
		for k, v := range cm.Data {
			if _, dup := vars[k]; !dup {
				vars[k] = v
			}
		}
	}
	for _, a := range c.Args {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if _, ok := vars[m[1]]; !ok {
				t.Errorf("argument %q uses $(%s), which the container's environment does not define", a, m[1])
			}
		}
	}
	remote := varRef.ReplaceAllStringFunc(flags["--remote"], func(s string) string { return vars[varRef.FindStringSubmatch(s)[1]] })
	switch dir {
	case "base":
		if !strings.Contains(remote, ".invalid/") {
			t.Errorf("base remote %q is not the documented placeholder", remote)
		}
	case "overlays/ssh":
		if !strings.HasPrefix(remote, "ssh://") {
			t.Errorf("ssh overlay remote = %q, want ssh://…", remote)
		}
	case "overlays/https-token":
		if !strings.HasPrefix(remote, "https://") || strings.Contains(remote, ".invalid/") {
			t.Errorf("https-token overlay remote = %q, want its own https://…", remote)
		}
		if flags["--git-username"] == "" {
			t.Error("https-token overlay sets no --git-username")
		}
	}

	// Probes and the metrics port.
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports = %+v, want one named http on 8080", c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "http" {
			t.Errorf("probe for %s = %+v, want an HTTP GET of %s on port http", name, p, name)
		}
	}

	// Volumes: the clone on an emptyDir, the credentials read-only from
	// the Secret the overlay generates, every credential flag naming one
	// of its keys.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	repoMounted := false
	for name, m := range mounts {
		if m.MountPath == "/var/lib/kubesnap/repo" {
			repoMounted = volumes[name].EmptyDir != nil
		}
	}
	if !repoMounted || flags["--repo"] != "/var/lib/kubesnap/repo" {
		t.Errorf("the clone is not --repo=/var/lib/kubesnap/repo on an emptyDir (--repo=%q, mounts %+v)", flags["--repo"], c.VolumeMounts)
	}
	// The configuration file: --config names a key of the mounted
	// ConfigMap kubesnap-file, and it is a valid file.
	cfgDir, cfgKey := filepath.Split(flags["--config"])
	cfgMounted := false
	for name, m := range mounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(cfgDir) && volumes[name].ConfigMap != nil {
			cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-file")
			cfgMounted = m.ReadOnly && volumes[name].ConfigMap.Name == cm.Name
			if _, err := parseConfig(cfgKey, []byte(cm.Data[cfgKey])); err != nil {
				t.Errorf("the mounted configuration file is invalid: %v", err)
			}
		}
	}
	if !cfgMounted {
		t.Errorf("--config=%q is not a key of the ConfigMap kubesnap-file mounted read-only (mounts %+v)", flags["--config"], c.VolumeMounts)
	}
	var secretVol *corev1.SecretVolumeSource
	var secretMount corev1.VolumeMount
	for name, v := range volumes {
		if v.Secret != nil && strings.HasPrefix(v.Secret.SecretName, "kubesnap-git") {
			secretVol, secretMount = v.Secret, mounts[name]
		}
	}
	if secretVol == nil || secretMount.MountPath == "" {
		t.Fatalf("no mounted volume from Secret kubesnap-git: %+v", pod.Volumes)
	}
	if !secretMount.ReadOnly {
		t.Error("the git credentials are mounted read-write")
	}
	credFlags := []string{"--ssh-key-file", "--ssh-known-hosts", "--git-token-file"}
	if dir == "base" {
		for _, f := range credFlags {
			if _, ok := flags[f]; ok {
				t.Errorf("base sets %s, but mounts no credentials", f)
			}
		}
		return
	}
	if secretVol.Optional == nil || *secretVol.Optional {
		t.Error("overlay leaves the git credentials Secret optional")
	}
	secret := decodeDoc[corev1.Secret](t, docs, "Secret", "kubesnap-git")
	if secret.Name != secretVol.SecretName {
		t.Errorf("the volume mounts Secret %s, the build generates %s", secretVol.SecretName, secret.Name)
	}
	want := map[string][]string{
		"overlays/ssh":         {"--ssh-key-file", "--ssh-known-hosts"},
		"overlays/https-token": {"--git-token-file"},
	}[dir]
	for _, f := range credFlags {
		path, set := flags[f]
		if set != slices.Contains(want, f) {
			t.Errorf("%s set = %v, want %v", f, set, !set)
			continue
		}
		if !set {
			continue
		}
		key, ok := strings.CutPrefix(path, secretMount.MountPath+"/")
		if _, inSecret := secret.Data[key]; !ok || !inSecret {
			t.Errorf("%s=%s is not a key of Secret %s mounted at %s (keys %v)", f, path, secret.Name, secretMount.MountPath, keys(secret.Data))
		}
	}
	// What is committed must be a placeholder, never a credential.
	for k, v := range secret.Data {
		if !isPlaceholder(v) {
			t.Errorf("Secret %s key %s is not an obvious placeholder: a real credential may be committed", secret.Name, k)
		}
	}
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
