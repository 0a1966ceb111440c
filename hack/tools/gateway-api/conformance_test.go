// The upstream Gateway API conformance suite, run against the local cluster's gateway by
// hack/gateway.sh conformance (flags after -args; see that script).
package tools

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}
