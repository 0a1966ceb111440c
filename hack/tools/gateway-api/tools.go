//go:build tools

// Package tools pins the Gateway API release whose standard CRDs hack/cluster.sh installs.
package tools

import _ "sigs.k8s.io/gateway-api/apis/v1"
