package sops

import "filippo.io/age"

// NewKey returns a new age key pair: the identity as an identity file
// holds it (AGE-SECRET-KEY-1…) and its recipient (age1…).
func NewKey() (identity, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	return id.String(), id.Recipient().String(), nil
}
