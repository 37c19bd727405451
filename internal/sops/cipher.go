package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ivSize is the nonce length sops uses with AES-GCM: 32 bytes, not GCM's
// usual 12, so files it writes carry 32-byte IVs and we write the same.
const ivSize = 32

// encValue matches one encrypted value. The four fields are base64 (data,
// iv, tag) and the type of the plaintext.
var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// Plaintext types as sops names them in the type field.
const (
	typeStr     = "str"
	typeInt     = "int"
	typeFloat   = "float"
	typeBool    = "bool"
	typeTime    = "time"
	typeBytes   = "bytes"
	typeComment = "comment"
)

// comment is the plaintext of a comment line (without its "#"), which sops
// encrypts with its own type so that it decrypts back to a comment.
type comment string

// errNotEncValue says a string is not in the ENC[AES256_GCM,…] format.
var errNotEncValue = errors.New("not an ENC[AES256_GCM,…] value")

// errAuth says AES-GCM refused a value: the ciphertext, its IV or tag, its
// path in the document or the data key differ from those it was sealed with.
var errAuth = errors.New("does not authenticate")

// valueBytes is the byte form sops gives a plaintext value, both for the
// MAC and as the bytes AES-GCM seals. Its cases are the types a YAML
// scalar decodes to (go.yaml.in/yaml/v3 into an interface{}), as sops reads
// them; any other type (an integer beyond int64, say) sops refuses too.
func valueBytes(v any) (b []byte, typ string, err error) {
	switch v := v.(type) {
	case string:
		return []byte(v), typeStr, nil
	case int:
		return []byte(strconv.Itoa(v)), typeInt, nil
	case float64:
		// The shortest decimal form without exponent, as the Python
		// sops wrote floats.
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), typeFloat, nil
	case bool:
		// Title case, again after the Python sops.
		if v {
			return []byte("True"), typeBool, nil
		}
		return []byte("False"), typeBool, nil
	case time.Time:
		b, err := v.MarshalText()
		return b, typeTime, err
	case []byte:
		return v, typeBytes, nil
	case comment:
		return []byte(v), typeComment, nil
	default:
		return nil, "", fmt.Errorf("a value of type %T cannot be encrypted", v)
	}
}

// encryptValue seals v under key with a fresh IV, binding it to ad (the
// value's path in the document, or lastmodified for the MAC), and formats it
// as sops does. An empty string or comment stays empty: sops writes it as is.
func encryptValue(v any, key []byte, ad string) (string, error) {
	plain, typ, err := valueBytes(v)
	if err != nil {
		return "", err
	}
	if len(plain) == 0 && (typ == typeStr || typ == typeComment || typ == typeBytes) {
		return "", nil
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	iv := make([]byte, ivSize)
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("generate IV: %w", err)
	}
	sealed := gcm.Seal(nil, iv, plain, []byte(ad))
	n := len(sealed) - gcm.Overhead()
	enc := base64.StdEncoding
	return "ENC[AES256_GCM,data:" + enc.EncodeToString(sealed[:n]) +
		",iv:" + enc.EncodeToString(iv) +
		",tag:" + enc.EncodeToString(sealed[n:]) +
		",type:" + typ + "]", nil
}

// decryptValue opens a value encryptValue (or sops) wrote and returns it as
// the type its type field names. The empty string decrypts to itself. Its
// errors never hold s or the plaintext.
func decryptValue(s string, key []byte, ad string) (any, error) {
	if s == "" {
		return "", nil
	}
	m := encValue.FindStringSubmatch(s)
	if m == nil {
		return nil, errNotEncValue
	}
	var parts [3][]byte
	for i, name := range []string{"data", "iv", "tag"} {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, fmt.Errorf("its %s is not base64", name)
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	if len(iv) == 0 {
		return nil, errors.New("its iv is empty")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(ad))
	if err != nil {
		return nil, errAuth
	}
	switch typ := m[4]; typ {
	case typeStr:
		return string(plain), nil
	case typeInt:
		i, err := strconv.Atoi(string(plain))
		if err != nil {
			return nil, errors.New("its int plaintext is not an integer")
		}
		return i, nil
	case typeFloat:
		f, err := strconv.ParseFloat(string(plain), 64)
		if err != nil {
			return nil, errors.New("its float plaintext is not a number")
		}
		return f, nil
	case typeBool:
		b, err := strconv.ParseBool(string(plain))
		if err != nil {
			return nil, errors.New("its bool plaintext is not a boolean")
		}
		return b, nil
	case typeTime:
		var t time.Time
		if err := t.UnmarshalText(plain); err != nil {
			return nil, errors.New("its time plaintext is not a timestamp")
		}
		return t, nil
	case typeBytes:
		return plain, nil
	case typeComment:
		return comment(plain), nil
	default:
		return nil, fmt.Errorf("its type %q is unknown", typ)
	}
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithNonceSize(block, ivSize)
}
