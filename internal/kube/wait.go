package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// crds are CustomResourceDefinitions, read to see them established.
var crds = schema.GroupVersionResource{Group: canonical.CRDGroup, Version: "v1", Resource: "customresourcedefinitions"}

// crdPoll is how often WaitEstablished looks again.
const crdPoll = 200 * time.Millisecond

const crdMissing = "it does not exist"

// WaitEstablished waits until the CustomResourceDefinition name has the
// conditions Established and NamesAccepted, and discovery (what Served
// reads) lists its resource in every served version, for at most timeout.
// On timeout the error names the CRD and says what its conditions say.
func (tg *Target) WaitEstablished(ctx context.Context, name string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	why := "not read yet"
	for {
		ready, w, err := tg.established(wctx, name)
		switch {
		case ready:
			return nil
		case apierrors.IsForbidden(err):
			return fmt.Errorf("wait for customresourcedefinition %s: forbidden: %s (a restore needs the right to get customresourcedefinitions)", name, firstLine(err.Error()))
		case wctx.Err() != nil:
			// The last answer, not the one the deadline cut short.
		case err != nil:
			why = firstLine(err.Error())
		default:
			why = w
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("wait for customresourcedefinition %s: %w", name, context.Cause(ctx))
			}
			if why == crdMissing {
				return fmt.Errorf("customresourcedefinition %s is not established after %s: %s", name, timeout, why)
			}
			return fmt.Errorf("customresourcedefinition %s is not established after %s: %s (see kubectl describe crd %s)", name, timeout, why, name)
		case <-time.After(crdPoll):
		}
	}
}

// established reads the CRD once: whether it is ready, and if not what it
// is waiting for.
func (tg *Target) established(ctx context.Context, name string) (bool, string, error) {
	crd, err := tg.c.dynamic.Resource(crds).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, crdMissing, nil
	}
	if err != nil {
		return false, "", err
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	var est, acc string
	var said []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		status, _ := m["status"].(string)
		switch typ {
		case "Established":
			est = status
		case "NamesAccepted":
			acc = status
		default:
			continue
		}
		s := typ + "=" + status
		reason, _ := m["reason"].(string)
		message, _ := m["message"].(string)
		if reason != "" || message != "" {
			s += " (" + strings.TrimPrefix(reason+": "+message, ": ") + ")"
		}
		said = append(said, s)
	}
	if est != "True" || acc != "True" {
		if len(said) == 0 {
			return false, "no conditions yet", nil
		}
		return false, strings.Join(said, ", "), nil
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var gvs []schema.GroupVersion
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); served {
			name, _ := m["name"].(string)
			gvs = append(gvs, schema.GroupVersion{Group: group, Version: name})
		}
	}
	missing, err := tg.c.undiscovered(ctx, gvs, plural)
	if err != nil {
		return false, "", err
	}
	if missing != "" {
		return false, fmt.Sprintf("established, but discovery does not list %s in %s yet", plural, missing), nil
	}
	return true, "", nil
}
