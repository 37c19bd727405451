package kube

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DigestKeyField is the key of the digest key's Secret that holds it.
const DigestKeyField = "key"

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// ErrNoDigestKey says the digest key's Secret does not exist (and was not
// to be created); ErrNoNamespace that its namespace does not exist.
var (
	ErrNoDigestKey = errors.New("the digest key Secret does not exist")
	ErrNoNamespace = errors.New("namespace does not exist")
	// ErrDigestKeyForbidden says the caller may not read the key.
	ErrDigestKeyForbidden = errors.New("forbidden")
)

// DigestKey returns the key of the digest of Secret values, kept in the
// cluster in the Secret namespace/name (field "key"), so that every
// kubesnap run against the cluster (a laptop's snapshot, the watcher)
// digests the same way, and the key never reaches git. When the Secret
// does not exist and create is set, a random 32-byte key is created;
// when another run created it first, that one is used.
func (c *Cluster) DigestKey(ctx context.Context, namespace, name string, create bool) ([]byte, error) {
	where := namespace + "/" + name
	r := c.dynamic.Resource(secretsGVR).Namespace(namespace)
	obj, err := r.Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return keyOf(obj, where)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("cannot read the digest key Secret %s: %w; grant get on it (kubectl -n %s create role kubesnap-digest-key --verb=get --resource=secrets --resource-name=%s, and a rolebinding of it to this user)", where, ErrDigestKeyForbidden, namespace, name)
	case !apierrors.IsNotFound(err):
		return nil, c.unreachable(fmt.Errorf("read the digest key Secret %s: %w", where, err))
	case !create:
		return nil, fmt.Errorf("%w: %s; run 'kubesnap snapshot' once with rights to create it, or give the key with --digest-key FILE", ErrNoDigestKey, where)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{
			"name": name, "namespace": namespace,
			"labels": map[string]any{"app.kubernetes.io/managed-by": "kubesnap"},
			"annotations": map[string]any{
				"kubesnap.io/purpose": "keys the digests kubesnap writes for Secret values; losing it makes every Secret file change once",
			},
		},
	}}
	if err := unstructured.SetNestedField(secret.Object, map[string]any{DigestKeyField: encodeKey(key)}, "data"); err != nil {
		return nil, err
	}
	_, err = r.Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		return key, nil
	case apierrors.IsAlreadyExists(err):
		return c.DigestKey(ctx, namespace, name, false)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("the digest key Secret %s does not exist and kubesnap may not create it: create it once (kubectl -n %s create secret generic %s --from-literal=%s=$(head -c 32 /dev/urandom | base64)), or give the key with --digest-key FILE", where, namespace, name, DigestKeyField)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("cannot create the digest key Secret %s: %w: create namespace %s, or choose another with --digest-key-secret", where, ErrNoNamespace, namespace)
	default:
		return nil, c.unreachable(fmt.Errorf("create the digest key Secret %s: %w", where, err))
	}
}

// keyOf reads the key out of the digest key Secret.
func keyOf(obj *unstructured.Unstructured, where string) ([]byte, error) {
	s, _, _ := unstructured.NestedString(obj.Object, "data", DigestKeyField)
	key, err := decodeKey(s)
	if err != nil || len(key) < 16 {
		return nil, errors.New("the digest key Secret " + where + " has no usable \"" + DigestKeyField + "\" (at least 16 bytes): fix or delete it")
	}
	return key, nil
}

func encodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

func decodeKey(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
