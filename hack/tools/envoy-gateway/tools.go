//go:build tools

// Package tools pins Envoy Gateway, the Gateway API implementation `make up` runs on the host.
package tools

import _ "github.com/envoyproxy/gateway/cmd/envoy-gateway"
