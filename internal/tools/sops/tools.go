//go:build tools

// Package tools pins sops's main package so go mod tidy keeps its
// dependencies in go.sum.
package tools

import _ "github.com/getsops/sops/v3/cmd/sops"
