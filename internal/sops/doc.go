// Package sops writes and reads Kubernetes objects in the SOPS file format
// with age recipients, so that `sops --decrypt` and Flux's SOPS decryption
// read the files kubesnap writes, and kubesnap reads files sops wrote.
//
// It implements the format itself, over filippo.io/age and the standard
// library's AES-GCM, rather than importing github.com/getsops/sops/v3:
// that module's root package links the AWS, GCP, Azure and Vault SDKs into
// whatever imports it. Interoperability is checked by tests that run the
// real sops binary (make testbin builds it).
//
// # The format
//
// A SOPS file is the document with some values replaced by
//
//	ENC[AES256_GCM,data:<base64>,iv:<base64>,tag:<base64>,type:<str|int|float|bool|time|comment>]
//
// and a top-level sops key holding what decrypts them:
//
//	sops:
//	  age:                      # the data key, one armored age file per recipient
//	    - enc: |
//	        -----BEGIN AGE ENCRYPTED FILE-----
//	        …
//	      recipient: age1…
//	  encrypted_regex: ^(data|stringData)$
//	  lastmodified: "2026-03-04T05:06:07Z"
//	  mac: ENC[AES256_GCM,…,type:str]
//	  version: 3.13.3
//
// Keys are never encrypted. Each value is sealed with AES-256-GCM under a
// random 32-byte data key, with a random 32-byte IV, and with its path as
// additional data: the mapping keys from the root down to it, each followed
// by ":" ("data:password:"); list items add nothing to the path. A value
// moved to another key therefore does not decrypt. An empty string is
// written as it is.
//
// # Which values are encrypted
//
// With encrypted_regex, a value is encrypted if and only if some key on its
// path from the root matches the regular expression (unanchored, as
// regexp.MatchString; kubesnap anchors it). So a matching key encrypts its
// whole subtree, at any depth: every scalar in the mappings and lists below
// it. Lists do not take part in the match: an item is encrypted when a key
// above the list matches. Nulls are never encrypted. Comment lines whose
// path matches are encrypted too (type comment).
//
// Files sops wrote may name another rule instead, and Decrypt honours each:
// unencrypted_suffix (the default, "_unencrypted", when none is named),
// encrypted_suffix, unencrypted_regex, and the comment rules
// encrypted_comment_regex and unencrypted_comment_regex, which look at the
// comments above a value and above its ancestors.
//
// # The MAC
//
// The MAC is SHA-512 over the byte forms of every non-null scalar value of
// the document, encrypted or not, in document order (mapping entries and list
// items as they appear in the file), concatenated without separators. The
// byte form of a string is the string, of an integer its decimal digits, of
// a float its shortest decimal form without exponent, of a boolean "True" or
// "False". Keys, comments and nulls are not in it; nor is the sops key. With
// mac_only_encrypted, only the encrypted values are, after a 32-byte seed
// (SHA-256 of "sops"). The digest, in upper-case hex, is itself encrypted
// like a string value with lastmodified as additional data and stored in mac.
//
// So a changed or removed value in clear fails the MAC, and a changed
// encrypted value fails to authenticate; a renamed key whose value is in
// clear does not change the MAC (sops has the same limit).
//
// # Where sops puts comments
//
// The order values are walked in matters for the MAC, and where comments
// sit matters for the comment rules, so the walk follows sops's YAML store:
// a key's comments and a scalar value's comments belong to the mapping
// holding them; a mapping's or list's own comments belong to it. sops writes
// an encrypted comment inside a list as a list item; Decrypt turns it back
// into a comment.
//
// # Files
//
//	sops.go      Encrypt, Decrypt, IsEncrypted: the document, its MAC, writing it back
//	walk.go      the walk over a document in sops's order, and which values its rules encrypt
//	cipher.go    one value: its byte form, AES-256-GCM with its path as additional data
//	metadata.go  the sops: key; the data key, sealed for each age recipient
//	keys.go      age recipients and identities: parsing, and reading them from files
//	keygen.go    NewKey: a new age identity and its recipient
package sops
