package canonical

import (
	"fmt"
	"sort"
	"strings"
)

// Stage says when a built-in rule acts.
type Stage string

// The stages, in the order they act on an object.
const (
	// StageSkipType leaves a whole type out of the repository, at discovery.
	StageSkipType Stage = "skip type"
	// StageSkipObject leaves one object out (SkipObject).
	StageSkipObject Stage = "skip object"
	// StageNormalize removes or rewrites fields (Normalize); user rules
	// act here too, first.
	StageNormalize Stage = "normalize"
)

// DescribedRule is a rule described for people: `kubesnap rules` prints the
// built-in ones (DefaultRules) and the user's (Rule.Describe) in one list.
type DescribedRule struct {
	// Name is stable and unique among the built-in rules; a user rule's is
	// its Label ("normalize[2] (hpa-owns-replicas)").
	Name  string `json:"name"`
	Stage Stage  `json:"stage"`
	// Match says which types or objects the rule concerns.
	Match string `json:"match"`
	// Fields are the fields removed, in the syntax of ignoreFields
	// (FieldPath); [*] stands for every item or key.
	Fields []string `json:"fields,omitempty"`
	// Types are the types skipped, in kubectl's form (deployments.apps).
	Types []string `json:"types,omitempty"`
	// When is the condition under which the rule acts, if any.
	When string `json:"when,omitempty"`
	// Why says why, and where the behaviour is seen.
	Why string `json:"why,omitempty"`
}

// String writes d on one line, then an indented line for each of its
// fields or types, and one for why.
func (d DescribedRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %s: %s", d.Stage, d.Name, d.Match)
	if d.When != "" {
		b.WriteString(", " + d.When)
	}
	b.WriteByte('\n')
	for _, f := range d.Fields {
		b.WriteString("    - " + f + "\n")
	}
	for _, t := range d.Types {
		b.WriteString("    - " + t + "\n")
	}
	if d.Why != "" {
		b.WriteString("    why: " + d.Why + "\n")
	}
	return b.String()
}

// Describe describes the user rule at index i of its Rules.
func (r Rule) Describe(i int) DescribedRule {
	d := DescribedRule{Name: r.Label(i), Stage: StageNormalize, Match: r.Match.String(), Why: "the configuration file says so"}
	for _, p := range r.IgnoreFields {
		d.Fields = append(d.Fields, p.String())
	}
	if len(r.IgnoreManagers) > 0 {
		d.When = "removes the fields owned by field managers " + strings.Join(r.IgnoreManagers, ", ")
	}
	return d
}

// Describe describes every rule of rs, in order.
func (rs Rules) Describe() []DescribedRule {
	out := make([]DescribedRule, len(rs))
	for i, r := range rs {
		out[i] = r.Describe(i)
	}
	return out
}

func metadataFields(section string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = FieldPath{steps: []step{{key: "metadata"}, {key: section}, {key: k}}}.String()
	}
	return out
}

// DefaultRules lists kubesnap's built-in rules (RULES.md sections 1 and 2):
// what SkipType, SkipObject and Normalize leave out, in the order they
// act. They are descriptions: the code in skip.go, normalize.go and
// secret.go does the work, and a test keeps the two in step.
func DefaultRules() []DescribedRule {
	ephemeralTypes := make([]string, 0, len(ephemeral))
	for t := range ephemeral {
		ephemeralTypes = append(ephemeralTypes, t)
	}
	sort.Strings(ephemeralTypes)
	server := make([]string, len(droppedMetadata))
	for i, k := range droppedMetadata {
		server[i] = "metadata." + k
	}
	var jobLabels []string
	for _, section := range []string{"metadata.labels", "spec.template.metadata.labels", "spec.selector.matchLabels"} {
		for _, k := range append(append([]string{}, jobUIDLabels...), jobNameLabels...) {
			jobLabels = append(jobLabels, section+`["`+k+`"]`)
		}
	}
	return []DescribedRule{
		{Name: "subresources", Stage: StageSkipType, Match: "subresources (pods/log, deployments/scale, …)",
			Why: "part of their parent object"},
		{Name: "not-capturable", Stage: StageSkipType, Match: "types that cannot be listed, watched and created",
			Why: "TokenReview, SubjectAccessReview, bindings, evictions, metrics: they cannot be captured nor restored; no flag overrides this"},
		{Name: "ephemeral-types", Stage: StageSkipType, Match: "ephemeral types", Types: ephemeralTypes,
			When: "unless named in --include-resources",
			Why:  "the cluster makes and remakes them (Velero's never-restore list, Argo CD's default exclusions)"},
		{Name: "preferred-version", Stage: StageSkipType, Match: "every type served in several versions",
			Why: "discovery takes each group's preferred version only, so each object is stored once"},
		{Name: "being-deleted", Stage: StageSkipObject, Match: "objects with metadata.deletionTimestamp",
			Why: "being deleted"},
		{Name: "controller-owned", Stage: StageSkipObject, Match: "objects with a controller: true ownerReference",
			Why: "owned by a controller: Pods of ReplicaSets, ReplicaSets of Deployments, Jobs of CronJobs, ControllerRevisions are remade by it (katafygio's --exclude-having-owner-ref)"},
		{Name: "mirror-pods", Stage: StageSkipObject, Match: `core Pod annotated kubernetes.io/config.mirror`,
			Why: "mirror pod: the kubelet makes it from a static pod file"},
		{Name: "completed-pods", Stage: StageSkipObject, Match: "core Pod in phase Succeeded or Failed",
			Why: "completed pod"},
		{Name: "kubernetes-service", Stage: StageSkipObject, Match: "core Service default/kubernetes",
			Why: "reconciled by each API server"},
		{Name: "root-ca-configmap", Stage: StageSkipObject, Match: "core ConfigMap kube-root-ca.crt in every namespace",
			Why: "published in every namespace by the API server"},
		{Name: "automanaged-apiservices", Stage: StageSkipObject, Match: "apiregistration.k8s.io APIService labelled kube-aggregator.kubernetes.io/automanaged",
			Why: "managed by the API server"},
		{Name: "auto-token-secrets", Stage: StageSkipObject, Match: "core Secret of type kubernetes.io/service-account-token with generateName <serviceaccount>-token-",
			Why: "service account token made by the token controller"},

		{Name: "server-metadata", Stage: StageNormalize, Match: "every object", Fields: server,
			Why: "set by the API server (Velero's resetMetadata); managedFields is read first, for the commit's author, Services' node ports and user rules"},
		{Name: "generate-name", Stage: StageNormalize, Match: "every object", Fields: []string{"metadata.generateName"},
			When: "once it has a name", Why: "the name is what identifies it"},
		{Name: "status", Stage: StageNormalize, Match: "every object", Fields: []string{"status"},
			Why: "written by controllers, not by users"},
		{Name: "null-creation-timestamps", Stage: StageNormalize, Match: "every object",
			When: "creationTimestamp: null at any depth (pod templates, jobTemplate)",
			Why:  "typed marshalling wrote it until Kubernetes 1.33"},
		{Name: "noise-annotations", Stage: StageNormalize, Match: "every object", Fields: metadataFields("annotations", noiseAnnotations),
			Why: "set by clients and controllers on every apply, rollout or bind (kubectl's rollback skip list, Velero's PVC action)"},
		{Name: "empty-labels-annotations", Stage: StageNormalize, Match: "every object", Fields: []string{"metadata.annotations", "metadata.labels"},
			When: "when empty", Why: "an empty map says nothing"},
		{Name: "namespace", Stage: StageNormalize, Match: "core Namespace",
			Fields: []string{`metadata.labels["kubernetes.io/metadata.name"]`, "spec.finalizers"},
			When:   "and spec when that leaves it empty", Why: "set by the API server"},
		{Name: "service-cluster-ip", Stage: StageNormalize, Match: "core Service", Fields: []string{"spec.clusterIP", "spec.clusterIPs"},
			When: "unless clusterIP is None", Why: "allocated by the API server"},
		{Name: "service-node-ports", Stage: StageNormalize, Match: "core Service", Fields: []string{"spec.healthCheckNodePort", "spec.ports[*].nodePort"},
			When: "unless a field manager set them (managedFields)", Why: "allocated by the API server (Velero tells them apart the same way)"},
		{Name: "service-account-token-refs", Stage: StageNormalize, Match: "core ServiceAccount", Fields: []string{"secrets[*]"},
			When: "the entries named <serviceaccount>-token-*, and secrets when that leaves it empty", Why: "the legacy token Secrets are not captured"},
		{Name: "secret-string-data", Stage: StageNormalize, Match: "core Secret", Fields: []string{"stringData"},
			When: "folded into data", Why: "the API server does the same on write (gitops-engine and Flux do too)"},
		{Name: "service-account-token-secrets", Stage: StageNormalize, Match: "core Secret of type kubernetes.io/service-account-token",
			Fields: []string{"data.token", `data["ca.crt"]`, "data.namespace", `metadata.annotations["kubernetes.io/service-account.uid"]`},
			Why:    "filled in by the token controller"},
		{Name: "secret-values", Stage: StageNormalize, Match: "core Secret, and the kinds named sensitive",
			Fields: []string{"data[*]", "stringData[*]"},
			When: "values replaced by " + Redacted + " (not valid base64: the API server refuses the file) and the object annotated " + RedactedAnnotation +
				", unless kept for encryption or plain storage; " + DigestAnnotation + " records that they changed; " +
				"of a sensitive kind every field but apiVersion, kind, metadata and status",
			Why: "no Secret value may reach git by default"},
		{Name: "pvc-volume-name", Stage: StageNormalize, Match: "core PersistentVolumeClaim", Fields: []string{"spec.volumeName"},
			When: "unless PersistentVolumes are captured too", Why: "judgement: without the volume it names nothing after a restore"},
		{Name: "pv-claim-ref", Stage: StageNormalize, Match: "core PersistentVolume", Fields: []string{"spec.claimRef.uid", "spec.claimRef.resourceVersion"},
			Why: "they name the claim's incarnation, which a restore changes"},
		{Name: "pod-scheduling", Stage: StageNormalize, Match: "core Pod", Fields: []string{"spec.nodeName"},
			Why: "set by the scheduler"},
		{Name: "pod-api-access-volume", Stage: StageNormalize, Match: "core Pod",
			Fields: []string{"spec.volumes[*]", "spec.containers[*].volumeMounts[*]", "spec.initContainers[*].volumeMounts[*]", "spec.ephemeralContainers[*].volumeMounts[*]"},
			When:   "the projected volume named kube-api-access-* and its mounts",
			Why:    "judgement on the name: the service account admission plugin injects them"},
		{Name: "aggregated-clusterrole-rules", Stage: StageNormalize, Match: "rbac.authorization.k8s.io ClusterRole", Fields: []string{"rules"},
			When: "when aggregationRule is set", Why: "the aggregation controller fills them"},
		{Name: "job-generated-labels", Stage: StageNormalize, Match: "batch Job", Fields: jobLabels,
			When: "the job-name labels only where a controller-uid label shows they were generated",
			Why:  "the Job controller derives them from the Job's uid, which differs on every restore"},
	}
}
