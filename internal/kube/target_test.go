package kube

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	"github.com/kubesnap/kubesnap/restore"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
)

var (
	services    = canonical.Type{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true}
	deployments = canonical.Type{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
	crdType     = canonical.Type{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Kind: "CustomResourceDefinition"}
)

// object builds an unstructured object from YAML-like nested maps.
func object(apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func configMap(ns, name string, data map[string]any) *unstructured.Unstructured {
	return object("v1", "ConfigMap", ns, name, map[string]any{"data": data})
}

// liveData reads a ConfigMap's data; nil when it does not exist.
func liveData(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	cm, err := env.Client(t).CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

func TestTargetServedListsTypesAndTheServerVersion(t *testing.T) {
	testenv.Require(t, env)
	types, version, err := connect(t).Target().Served(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if version != testenv.KubernetesVersion {
		t.Errorf("server version = %q, want %q", version, testenv.KubernetesVersion)
	}
	found := false
	for _, ty := range types {
		if ty.ResourceDir() == "deployments.apps" {
			found = true
			if ty.Version != "v1" || !ty.Namespaced {
				t.Errorf("deployments.apps served as %+v, want v1, namespaced", ty)
			}
		}
	}
	if !found {
		t.Errorf("Served lists %d types, not deployments.apps", len(types))
	}
}

func TestTargetEachListsOneNamespaceOrAll(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	fillConfigMaps(t, ns, 3)
	tg := connect(t).Target()
	var inNS []string
	if err := tg.Each(t.Context(), configmaps, ns, func(o *unstructured.Unstructured) error {
		inNS = append(inNS, o.GetName())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"cm-0000", "cm-0001", "cm-0002"}, inNS); diff != "" {
		t.Errorf("Each in %s (-want +got):\n%s", ns, diff)
	}
	mine := 0
	if err := tg.Each(t.Context(), configmaps, "", func(o *unstructured.Unstructured) error {
		if o.GetNamespace() == ns {
			mine++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if mine != 3 {
		t.Errorf("Each in all namespaces saw %d of the 3 ConfigMaps in %s", mine, ns)
	}
	stop := errors.New("stop")
	if err := tg.Each(t.Context(), configmaps, ns, func(*unstructured.Unstructured) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Each whose callback fails = %v, want the callback's error", err)
	}
}

func TestTargetApplyCreatesAndUpdates(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	tg := connect(t).Target()
	ctx := t.Context()
	if err := tg.Apply(ctx, configmaps, configMap(ns, "app", map[string]any{"a": "1"}), false, false); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := tg.Apply(ctx, configmaps, configMap(ns, "app", map[string]any{"a": "2", "b": "3"}), false, false); err != nil {
		t.Fatalf("update: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": "2", "b": "3"}, liveData(t, ns, "app")); diff != "" {
		t.Errorf("live data (-want +got):\n%s", diff)
	}
	cm, err := env.Client(t).CoreV1().ConfigMaps(ns).Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var managers []string
	for _, m := range cm.ManagedFields {
		managers = append(managers, string(m.Operation)+" "+m.Manager)
	}
	if diff := cmp.Diff([]string{"Apply " + restore.FieldManager}, managers); diff != "" {
		t.Errorf("field managers (-want +got):\n%s", diff)
	}
}

func TestTargetDryRunStoresNothing(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	tg := connect(t).Target()
	ctx := t.Context()
	if err := tg.Apply(ctx, configmaps, configMap(ns, "new", map[string]any{"a": "1"}), false, true); err != nil {
		t.Fatalf("dry-run create: %v", err)
	}
	if got := liveData(t, ns, "new"); got != nil {
		t.Errorf("a dry-run create stored %v", got)
	}
	if err := tg.Apply(ctx, configmaps, configMap(ns, "old", map[string]any{"a": "1"}), false, false); err != nil {
		t.Fatal(err)
	}
	if err := tg.Apply(ctx, configmaps, configMap(ns, "old", map[string]any{"a": "2"}), true, true); err != nil {
		t.Fatalf("dry-run update: %v", err)
	}
	would, err := tg.DryRun(ctx, configmaps, configMap(ns, "old", map[string]any{"a": "3"}))
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	if got, _, _ := unstructured.NestedString(would.Object, "data", "a"); got != "3" {
		t.Errorf("DryRun would store a=%q, want 3", got)
	}
	if diff := cmp.Diff(map[string]string{"a": "1"}, liveData(t, ns, "old")); diff != "" {
		t.Errorf("dry-runs changed the live data (-want +got):\n%s", diff)
	}
}

func TestTargetApplyTakesOtherManagersFieldsOnlyWithForce(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	ctx := t.Context()
	if _, err := env.Client(t).CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"a": "theirs", "b": "theirs"},
	}, metav1.CreateOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	tg := connect(t).Target()
	err := tg.Apply(ctx, configmaps, configMap(ns, "shared", map[string]any{"a": "ours", "b": "ours"}), false, false)
	if err == nil {
		t.Fatal("Apply without force took fields another manager owns")
	}
	for _, want := range []string{`conflict with "someone-else"`, ".data.a, .data.b", "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conflict error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") || errors.Is(err, restore.ErrImmutable) {
		t.Errorf("conflict error %q: want one line, not ErrImmutable", err)
	}
	if err := tg.Apply(ctx, configmaps, configMap(ns, "shared", map[string]any{"a": "ours", "b": "ours"}), true, false); err != nil {
		t.Fatalf("Apply with force: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": "ours", "b": "ours"}, liveData(t, ns, "shared")); diff != "" {
		t.Errorf("live data after a forced apply (-want +got):\n%s", diff)
	}
}

func TestTargetApplyOfAnImmutableFieldWrapsErrImmutable(t *testing.T) {
	testenv.Require(t, env)
	deployment := func(ns, app string) *unstructured.Unstructured {
		labels := map[string]any{"app": app}
		return object("apps/v1", "Deployment", ns, "web", map[string]any{"spec": map[string]any{
			"replicas": int64(0),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
			},
		}})
	}
	cases := []struct {
		name        string
		t           canonical.Type
		first, then func(ns, clusterIP string) *unstructured.Unstructured
		says        string
	}{{
		name: "a Service's clusterIP cannot change once set",
		t:    services,
		first: func(ns, _ string) *unstructured.Unstructured {
			return object("v1", "Service", ns, "web", map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}})
		},
		then: func(ns, ip string) *unstructured.Unstructured {
			return object("v1", "Service", ns, "web", map[string]any{"spec": map[string]any{"clusterIP": otherIP(ip), "ports": []any{map[string]any{"port": int64(80)}}}})
		},
		says: "clusterIP",
	}, {
		name:  "a Deployment's selector is immutable",
		t:     deployments,
		first: func(ns, _ string) *unstructured.Unstructured { return deployment(ns, "a") },
		then:  func(ns, _ string) *unstructured.Unstructured { return deployment(ns, "b") },
		says:  "spec.selector",
	}, {
		name: "an immutable ConfigMap keeps its data",
		t:    configmaps,
		first: func(ns, _ string) *unstructured.Unstructured {
			return object("v1", "ConfigMap", ns, "web", map[string]any{"immutable": true, "data": map[string]any{"a": "1"}})
		},
		then: func(ns, _ string) *unstructured.Unstructured {
			return object("v1", "ConfigMap", ns, "web", map[string]any{"immutable": true, "data": map[string]any{"a": "2"}})
		},
		says: "data",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := env.Namespace(t)
			tg := connect(t).Target()
			ctx := t.Context()
			if err := tg.Apply(ctx, c.t, c.first(ns, ""), true, false); err != nil {
				t.Fatal(err)
			}
			if c.t.Resource == "services" {
				// Without a controller-manager the namespace is never
				// emptied: free the clusterIP for other runs.
				t.Cleanup(func() {
					if err := tg.Delete(context.Background(), services, ns, "web", false); err != nil {
						t.Error(err)
					}
				})
			}
			ip := ""
			if svc, err := env.Client(t).CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
				ip = svc.Spec.ClusterIP
			}
			for _, dryRun := range []bool{true, false} {
				err := tg.Apply(ctx, c.t, c.then(ns, ip), true, dryRun)
				if !errors.Is(err, restore.ErrImmutable) {
					t.Fatalf("Apply (dry-run %v) = %v, want ErrImmutable", dryRun, err)
				}
				if !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
					t.Errorf("Apply (dry-run %v) = %q: want one line naming %s", dryRun, err, c.says)
				}
			}
		})
	}
}

// otherIP is ip with its last octet changed, in the same Service range.
func otherIP(ip string) string {
	i := strings.LastIndex(ip, ".")
	if ip[i+1:] == "7" {
		return ip[:i+1] + "8"
	}
	return ip[:i+1] + "7"
}

func TestTargetApplyIntoAMissingNamespaceSaysSo(t *testing.T) {
	testenv.Require(t, env)
	err := connect(t).Target().Apply(t.Context(), configmaps, configMap("no-such-namespace", "app", nil), true, false)
	if err == nil || !strings.Contains(err.Error(), "namespace no-such-namespace does not exist") {
		t.Errorf("Apply into a missing namespace = %v, want it to say the namespace does not exist", err)
	}
	err = connect(t).Target().Apply(t.Context(), configmaps, configMap("", "app", nil), true, false)
	if err == nil || !strings.Contains(err.Error(), "no namespace") {
		t.Errorf("Apply of a namespaced object without a namespace = %v, want it to say so", err)
	}
}

func TestTargetApplyRefusedByAWebhookSaysSo(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	ctx := t.Context()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: false,
			Result: &metav1.Status{Message: "ConfigMaps labelled deny are not welcome"}}
		review.Request = nil
		if err := json.NewEncoder(w).Encode(review); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	url := srv.URL + "/validate"
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	cs := env.Client(t)
	hooks := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := hooks.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "deny.kubesnap.test",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url,
				CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"deny": "true"}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hooks.Delete(context.Background(), "deny-"+ns, metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	})
	tg := connect(t).Target()
	obj := configMap(ns, "app", map[string]any{"a": "1"})
	obj.SetLabels(map[string]string{"deny": "true"})
	var err error
	// The API server takes a moment to see a new webhook.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = tg.Apply(ctx, configmaps, obj, true, true); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("the webhook never refused the object")
	}
	for _, want := range []string{"an admission webhook refused it", "deny.kubesnap.test", "ConfigMaps labelled deny are not welcome"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("webhook refusal %q does not say %q", err, want)
		}
	}
	if err := tg.Apply(ctx, configmaps, obj, true, false); err == nil || errors.Is(err, restore.ErrImmutable) {
		t.Errorf("Apply refused by a webhook = %v, want a refusal that is not ErrImmutable", err)
	}
}

func TestTargetDeletes(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	fillConfigMaps(t, ns, 1)
	tg := connect(t).Target()
	ctx := t.Context()
	if err := tg.Delete(ctx, configmaps, ns, "cm-0000", true); err != nil {
		t.Fatalf("dry-run delete: %v", err)
	}
	if _, err := env.Client(t).CoreV1().ConfigMaps(ns).Get(ctx, "cm-0000", metav1.GetOptions{}); err != nil {
		t.Fatalf("after a dry-run delete, Get = %v, want the object", err)
	}
	if err := tg.Delete(ctx, configmaps, ns, "cm-0000", false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := env.Client(t).CoreV1().ConfigMaps(ns).Get(ctx, "cm-0000", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after Delete, Get = %v, want NotFound", err)
	}
	if err := tg.Delete(ctx, configmaps, ns, "cm-0000", false); err != nil {
		t.Errorf("delete of an absent object = %v, want nil", err)
	}
}

// crd is a CustomResourceDefinition of plural.group, kind Kind.
func crd(group, plural, kind string) *unstructured.Unstructured {
	return object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", plural+"."+group, map[string]any{"spec": map[string]any{
		"group": group,
		"scope": "Namespaced",
		"names": map[string]any{"plural": plural, "singular": strings.ToLower(kind), "kind": kind, "listKind": kind + "List"},
		"versions": []any{map[string]any{
			"name": "v1", "served": true, "storage": true,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
		}},
	}})
}

// applyCRD applies obj and deletes it when t ends.
func applyCRD(t *testing.T, tg *Target, obj *unstructured.Unstructured) {
	t.Helper()
	if err := tg.Apply(t.Context(), crdType, obj, true, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.Delete(context.Background(), crdType, "", obj.GetName(), false); err != nil {
			t.Error(err)
		}
	})
}

func TestTargetWaitEstablishedUntilTheTypeIsServed(t *testing.T) {
	testenv.Require(t, env)
	for _, legacy := range []bool{false, true} {
		name := "aggregated discovery"
		if legacy {
			name = "legacy discovery, one group version at a time"
		}
		t.Run(name, func(t *testing.T) {
			ns := env.Namespace(t)
			c := connect(t)
			c.discovery.(*discovery.DiscoveryClient).UseLegacyDiscovery = legacy
			tg := c.Target()
			ctx := t.Context()
			group := ns + ".kubesnap.test"
			applyCRD(t, tg, crd(group, "widgets", "Widget"))
			if err := tg.WaitEstablished(ctx, "widgets."+group, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			// What WaitEstablished promises: the next Served lists the
			// type, and its objects can be applied.
			types, _, err := tg.Served(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var widgets *canonical.Type
			for i := range types {
				if types[i].Group == group && types[i].Resource == "widgets" {
					widgets = &types[i]
				}
			}
			if widgets == nil {
				t.Fatalf("Served after WaitEstablished does not list widgets.%s", group)
			}
			if err := tg.Apply(ctx, *widgets, object(group+"/v1", "Widget", ns, "w", map[string]any{"spec": map[string]any{"size": int64(3)}}), true, false); err != nil {
				t.Errorf("apply a Widget after WaitEstablished: %v", err)
			}
		})
	}
}

func TestTargetWaitEstablishedTimesOutNamingTheConditions(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	tg := connect(t).Target()
	ctx := t.Context()
	group := ns + ".kubesnap.test"

	err := tg.WaitEstablished(ctx, "nothings."+group, time.Second)
	if err == nil || !strings.Contains(err.Error(), "nothings."+group) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("WaitEstablished for a CRD that never exists = %v, want a timeout naming it and saying it does not exist", err)
	}

	// Two kinds of one name in a group: the second's names are refused.
	applyCRD(t, tg, crd(group, "gadgets", "Gadget"))
	if err := tg.WaitEstablished(ctx, "gadgets."+group, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	applyCRD(t, tg, crd(group, "gizmos", "Gadget"))
	err = tg.WaitEstablished(ctx, "gizmos."+group, 2*time.Second)
	if err == nil {
		t.Fatal("WaitEstablished for a CRD whose kind is taken = nil, want a timeout")
	}
	for _, want := range []string{"gizmos." + group, "NamesAccepted=False", "is already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("timeout %q does not say %q", err, want)
		}
	}
}
