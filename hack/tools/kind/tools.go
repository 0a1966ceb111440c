//go:build tools

// Package tools pins kind, built by hack/tools/build.sh.
package tools

import _ "sigs.k8s.io/kind"
