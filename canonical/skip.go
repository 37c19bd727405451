package canonical

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Type is what discovery says about one resource type.
type Type struct {
	Group      string
	Version    string
	Resource   string
	Kind       string
	Namespaced bool
	Verbs      []string
	// Aggregated says an extension API server serves the type through
	// the aggregator: its resourceVersions are not the cluster's.
	Aggregated bool
}

// ID returns the identity of the object name in namespace of type t.
func (t Type) ID(namespace, name string) ID {
	return ID{Group: t.Group, Resource: t.Resource, Namespace: namespace, Name: name}
}

// ResourceDir is the kubectl form of the type: "deployments.apps".
func (t Type) ResourceDir() string { return t.ID("", "").ResourceDir() }

// ephemeral lists the types that are never captured by default: state the
// cluster makes and remakes on its own (Velero's never-restore list and
// Argo CD's default exclusions agree on these).
var ephemeral = map[string]string{
	"events":                           "events are ephemeral",
	"events.events.k8s.io":             "events are ephemeral",
	"leases.coordination.k8s.io":       "leases are held by running processes",
	"endpoints":                        "endpoints are derived from Services",
	"endpointslices.discovery.k8s.io":  "endpoint slices are derived from Services",
	"nodes":                            "nodes register themselves",
	"csinodes.storage.k8s.io":          "CSI nodes register themselves",
	"volumeattachments.storage.k8s.io": "volume attachments are made by controllers",
	"ipaddresses.networking.k8s.io":    "IP addresses are allocated to Services by the API server",
	"certificatesigningrequests.certificates.k8s.io": "certificate signing requests are one-off requests",
}

// Capturable reports whether objects of type t can be kept in git at all:
// types that cannot be listed, watched and created cannot be captured and
// restored, and subresources are part of their parent. No flag overrides
// this.
func Capturable(t Type) (reason string, ok bool) {
	if strings.Contains(t.Resource, "/") {
		return "subresource", false
	}
	for _, verb := range []string{"list", "watch", "create"} {
		if !slices.Contains(t.Verbs, verb) {
			return "cannot be " + verbPast[verb], false
		}
	}
	return "", true
}

// SkipType reports whether objects of type t are left out of the repository
// by default, and why: types that are not Capturable, and ephemeral ones.
// Naming an ephemeral type in --include-resources captures it anyway.
func SkipType(t Type) (reason string, skip bool) {
	if reason, ok := Capturable(t); !ok {
		return reason, true
	}
	if r, ok := ephemeral[t.ResourceDir()]; ok {
		return r + " (name it in --include-resources to capture it)", true
	}
	return "", false
}

var verbPast = map[string]string{"list": "listed", "watch": "watched", "create": "created"}

// SkipObject reports whether one live object is left out by default, and
// why. It must be called before Normalize, which drops the ownerReferences
// and generateName it reads.
func SkipObject(obj *unstructured.Unstructured) (reason string, skip bool) {
	if obj.GetDeletionTimestamp() != nil {
		return "being deleted", true
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			// Pods of ReplicaSets, ReplicaSets of Deployments, Jobs of
			// CronJobs, ControllerRevisions: their controller remakes them.
			return "owned by a controller", true
		}
	}
	group := obj.GroupVersionKind().Group
	switch kind := obj.GetKind(); {
	case group == "" && kind == "Pod":
		if _, mirror := obj.GetAnnotations()["kubernetes.io/config.mirror"]; mirror {
			return "mirror pod", true
		}
		phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
		if phase == "Succeeded" || phase == "Failed" {
			return "completed pod", true
		}
	case group == "" && kind == "Service" && obj.GetNamespace() == "default" && obj.GetName() == "kubernetes":
		// Each API server rewrites it to its own address and port: a
		// copy from one cluster is wrong in another.
		return "reconciled by each API server", true
	case group == "" && kind == "ConfigMap" && obj.GetName() == "kube-root-ca.crt":
		return "published in every namespace by the API server", true
	case group == APIServiceGroup && kind == APIServiceKind:
		if obj.GetLabels()["kube-aggregator.kubernetes.io/automanaged"] != "" {
			return "managed by the API server", true
		}
	case group == "" && kind == "Secret":
		if autoToken(obj) {
			return "service account token made by the token controller", true
		}
	}
	return "", false
}

// autoToken tells the legacy token controller's Secrets apart from tokens a
// person asked for: the controller named them with generateName
// "<serviceaccount>-token-" (judgement: that is how it always named them).
func autoToken(obj *unstructured.Unstructured) bool {
	t, _, _ := unstructured.NestedString(obj.Object, "type")
	if t != "kubernetes.io/service-account-token" {
		return false
	}
	sa := obj.GetAnnotations()["kubernetes.io/service-account.name"]
	return sa != "" && obj.GetGenerateName() == sa+"-token-"
}
