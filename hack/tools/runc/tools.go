//go:build tools

// Package tools pins runc; Debian's 1.1.5 cannot start containerd 2.4's containers.
package tools

import _ "github.com/opencontainers/runc"
