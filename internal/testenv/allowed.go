package testenv

import (
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WaitAllowed waits until user, one of Options.Users, may verb the
// resource of group in namespace: the API server's RBAC authorizer reads
// a Role or RoleBinding just created from its cache, a moment later. It
// fails t after 30 seconds.
func (e *Env) WaitAllowed(t testing.TB, user, namespace, group, resource, verb string) {
	t.Helper()
	c := e.UserClient(t, user)
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Group: group, Resource: resource, Verb: verb},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), review, metav1.CreateOptions{})
		if err == nil && got.Status.Allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s may still not %s %s.%s in %s after 30s (%v)", user, verb, resource, group, namespace, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
