package canonical

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Facts are what Normalize needs to know beyond the object itself.
type Facts struct {
	// PersistentVolumesCaptured says PersistentVolumes are in the
	// repository too, so a bound claim may keep its volumeName (judgement:
	// without the volume, the name points at nothing after a restore).
	PersistentVolumesCaptured bool
	// Protection says what becomes of sensitive values; the zero value
	// redacts them.
	Protection Protection
	// Rules are the user's normalization rules, applied first (they may
	// read managedFields); the zero Rules cost nothing.
	Rules Rules
}

// Info is what Normalize read from the object before dropping it.
type Info struct {
	// Manager is the field manager of the newest change to the object
	// outside its status, or "".
	Manager string
}

// noiseAnnotations are set by clients and controllers on their own and would
// make a commit on every rollout or bind.
var noiseAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"deprecated.deployment.rollback.to",
	"deprecated.daemonset.template.generation",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.kubernetes.io/storage-provisioner",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

var droppedMetadata = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
}

// Normalize rewrites obj in place into its canonical form and returns what it
// read from the fields it dropped. It applies every rule of RULES.md section
// 1 that concerns a single object; it is idempotent, and it never fails:
// fields of an unexpected shape are left as they are.
//
// Sensitive values (of Secrets, and of the kinds f.Protection names) are
// replaced by Redacted unless f.Protection says to keep them: by default no
// Secret value may reach git.
func Normalize(obj *unstructured.Unstructured, f Facts) Info {
	info := Info{Manager: newestManager(obj)}
	if len(f.Rules) > 0 {
		f.Rules.Apply(obj)
	}
	group := obj.GroupVersionKind().Group
	kind := obj.GetKind()
	if group == "" && kind == "Service" {
		normalizeService(obj) // reads managedFields
	}

	meta, _ := obj.Object["metadata"].(map[string]any)
	if meta != nil {
		for _, k := range droppedMetadata {
			delete(meta, k)
		}
		if name, _ := meta["name"].(string); name != "" {
			delete(meta, "generateName")
		}
		if ann, _ := meta["annotations"].(map[string]any); ann != nil {
			for _, k := range noiseAnnotations {
				delete(ann, k)
			}
		}
	}
	delete(obj.Object, "status")
	dropNullTimestamps(obj.Object)

	switch {
	case group == "" && kind == "Namespace":
		deleteLabel(obj.Object, "kubernetes.io/metadata.name")
		unstructured.RemoveNestedField(obj.Object, "spec", "finalizers")
		dropEmpty(obj.Object, "spec")
	case group == "" && kind == "ServiceAccount":
		normalizeServiceAccount(obj)
	case group == "" && kind == "Secret":
		normalizeSecret(obj)
	case group == "" && kind == "PersistentVolumeClaim":
		if !f.PersistentVolumesCaptured {
			unstructured.RemoveNestedField(obj.Object, "spec", "volumeName")
		}
	case group == "" && kind == "PersistentVolume":
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "uid")
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "resourceVersion")
	case group == "" && kind == "Pod":
		normalizePod(obj)
	case group == "rbac.authorization.k8s.io" && kind == "ClusterRole":
		if _, ok := obj.Object["aggregationRule"]; ok {
			// The aggregation controller fills the rules.
			delete(obj.Object, "rules")
		}
	case group == "batch" && kind == "Job":
		normalizeJob(obj)
	}
	protect(obj, f.Protection)
	for _, k := range []string{"annotations", "labels"} {
		dropEmpty(meta, k)
	}
	return info
}

// newestManager returns the manager of the newest managedFields entry that
// is not for the status subresource (status is not stored, so its writers
// did not make the change; /scale writers did). Times compare as strings: the API server writes
// them all in one RFC 3339 form. On a tie the later entry wins. Entries
// without a time lose: the API server writes none for /scale updates
// (seen on v1.37), so a scale is named only when nothing else has a time.
func newestManager(obj *unstructured.Unstructured) string {
	entries, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "managedFields")
	var manager, newest string
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if sub, _ := m["subresource"].(string); sub == "status" {
			continue
		}
		t, _ := m["time"].(string)
		if name, _ := m["manager"].(string); name != "" && t >= newest {
			manager, newest = name, t
		}
	}
	return manager
}

func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "creationTimestamp" && e == nil {
				delete(v, k)
				continue
			}
			dropNullTimestamps(e)
		}
	case []any:
		for _, e := range v {
			dropNullTimestamps(e)
		}
	}
}

// dropEmpty deletes m[key] when it is an empty map or list.
func dropEmpty(m map[string]any, key string) {
	if m == nil {
		return
	}
	switch v := m[key].(type) {
	case map[string]any:
		if len(v) == 0 {
			delete(m, key)
		}
	case []any:
		if len(v) == 0 {
			delete(m, key)
		}
	}
}

func deleteLabel(obj map[string]any, key string) {
	if labels, _, _ := unstructured.NestedFieldNoCopy(obj, "metadata", "labels"); labels != nil {
		if m, ok := labels.(map[string]any); ok {
			delete(m, key)
		}
	}
}

// normalizeService drops what the API server allocates: cluster IPs (unless
// headless) and node ports nobody asked for. A node port a client set is in
// that client's managedFields entry; an allocated one is in nobody's (the
// allocation happens after field management), which is how Velero tells
// them apart too.
func normalizeService(obj *unstructured.Unstructured) {
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	if ip, _ := spec["clusterIP"].(string); ip != "None" {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "managedFields"); !found {
		// Without field management (a stored file, a hand-written one)
		// nothing tells an allocated port from a chosen one: keep them,
		// so that normalizing twice changes nothing.
		return
	}
	owned := ownedSpecFields(obj)
	if !owned["f:healthCheckNodePort"] {
		delete(spec, "healthCheckNodePort")
	}
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		port, _ := p.(map[string]any)
		if port == nil {
			continue
		}
		if !owned[portKey(port)+"/f:nodePort"] {
			delete(port, "nodePort")
		}
	}
}

// ownedSpecFields lists the Service fields some manager set: "f:<field>" for
// spec fields, and "<port key>/f:nodePort" for ports.
func ownedSpecFields(obj *unstructured.Unstructured) map[string]bool {
	owned := map[string]bool{}
	entries, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "managedFields")
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if sub, _ := m["subresource"].(string); sub != "" {
			continue
		}
		spec, _, _ := unstructured.NestedMap(m, "fieldsV1", "f:spec")
		for field := range spec {
			owned[field] = true
		}
		ports, _ := spec["f:ports"].(map[string]any)
		for key, fields := range ports {
			fm, _ := fields.(map[string]any)
			if _, ok := fm["f:nodePort"]; !ok {
				continue
			}
			var k map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(key, "k:")), &k); err == nil {
				owned[portKey(k)+"/f:nodePort"] = true
			}
		}
	}
	return owned
}

// portKey identifies a Service port the way server-side apply keys the
// list: by port and protocol.
func portKey(port map[string]any) string {
	var num string
	switch n := port["port"].(type) {
	case int64:
		num = strconv.FormatInt(n, 10)
	case float64:
		num = strconv.FormatInt(int64(n), 10)
	}
	proto, _ := port["protocol"].(string)
	if proto == "" {
		proto = "TCP"
	}
	return num + "/" + proto
}

// normalizeServiceAccount drops references to the token Secrets the legacy
// token controller made ("<name>-token-xxxxx"): they are not captured.
func normalizeServiceAccount(obj *unstructured.Unstructured) {
	secrets, _ := obj.Object["secrets"].([]any)
	if secrets == nil {
		return
	}
	prefix := obj.GetName() + "-token-"
	kept := secrets[:0]
	for _, s := range secrets {
		m, _ := s.(map[string]any)
		if name, _ := m["name"].(string); strings.HasPrefix(name, prefix) {
			continue
		}
		kept = append(kept, s)
	}
	obj.Object["secrets"] = kept
	dropEmpty(obj.Object, "secrets")
}

// normalizeSecret folds stringData into data (as the API server does on
// write) and drops what the token controller fills into token Secrets.
func normalizeSecret(obj *unstructured.Unstructured) {
	data, _ := obj.Object["data"].(map[string]any)
	if sd, ok := obj.Object["stringData"].(map[string]any); ok {
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range sd {
			s, _ := v.(string)
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
		delete(obj.Object, "stringData")
	}
	if t, _ := obj.Object["type"].(string); t == "kubernetes.io/service-account-token" {
		// The token controller writes these (and the namespace) on its own.
		for _, k := range []string{"token", "ca.crt", "namespace"} {
			delete(data, k)
		}
		if ann := obj.GetAnnotations(); ann != nil {
			delete(ann, "kubernetes.io/service-account.uid")
			obj.SetAnnotations(ann)
		}
	}
	if len(data) == 0 {
		delete(obj.Object, "data")
		return
	}
	obj.Object["data"] = data
}

// normalizePod drops what the scheduler and the service account admission
// plugin add to a standalone Pod: the node it was bound to, and the
// projected API access volume (judgement: recognised by its
// "kube-api-access-" name prefix) with its mounts.
func normalizePod(obj *unstructured.Unstructured) {
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	delete(spec, "nodeName")
	injected := map[string]bool{}
	if vols, ok := spec["volumes"].([]any); ok {
		kept := vols[:0]
		for _, v := range vols {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			if _, projected := m["projected"]; projected && strings.HasPrefix(name, "kube-api-access-") {
				injected[name] = true
				continue
			}
			kept = append(kept, v)
		}
		spec["volumes"] = kept
		dropEmpty(spec, "volumes")
	}
	if len(injected) == 0 {
		return
	}
	for _, list := range []string{"containers", "initContainers", "ephemeralContainers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			mounts, ok := cm["volumeMounts"].([]any)
			if !ok {
				continue
			}
			kept := mounts[:0]
			for _, mt := range mounts {
				mm, _ := mt.(map[string]any)
				if name, _ := mm["name"].(string); injected[name] {
					continue
				}
				kept = append(kept, mt)
			}
			cm["volumeMounts"] = kept
			dropEmpty(cm, "volumeMounts")
		}
	}
}

var jobUIDLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid"}
var jobNameLabels = []string{"job-name", "batch.kubernetes.io/job-name"}

// normalizeJob drops the labels and selector the Job controller generates
// from the Job's uid; they differ on every restore. The job-name labels go
// with them, but only where a uid label shows they were generated.
func normalizeJob(obj *unstructured.Unstructured) {
	strip := func(fields ...string) {
		m, _, _ := unstructured.NestedFieldNoCopy(obj.Object, fields...)
		labels, _ := m.(map[string]any)
		if labels == nil {
			return
		}
		generated := false
		for _, k := range jobUIDLabels {
			if _, ok := labels[k]; ok {
				generated = true
				delete(labels, k)
			}
		}
		if generated {
			for _, k := range jobNameLabels {
				delete(labels, k)
			}
		}
		if len(labels) == 0 {
			unstructured.RemoveNestedField(obj.Object, fields...)
		}
	}
	strip("metadata", "labels")
	strip("spec", "template", "metadata", "labels")
	strip("spec", "selector", "matchLabels")
	if sel, found, _ := unstructured.NestedMap(obj.Object, "spec", "selector"); found && len(sel) == 0 {
		unstructured.RemoveNestedField(obj.Object, "spec", "selector")
	}
	if tm, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "template", "metadata"); tm != nil {
		if m, ok := tm.(map[string]any); ok && len(m) == 0 {
			unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata")
		}
	}
}
