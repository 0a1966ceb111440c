//go:build tools

// Package tools pins containerd v2 (daemon, runc shim, ctr); Debian's 1.6 is older than kubelet supports.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
