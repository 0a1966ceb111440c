//go:build tools

// Package tools pins the node agents (kubelet, kube-proxy) at the control plane's Kubernetes version.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
