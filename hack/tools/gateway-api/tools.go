//go:build tools

// Package tools pins Gateway API: its CRDs (hack/cluster.sh, hack/kind.sh), and its conformance
// suite with the suite's echo backend (hack/gateway.sh conformance).
package tools

import _ "sigs.k8s.io/gateway-api/conformance/echo-basic"
