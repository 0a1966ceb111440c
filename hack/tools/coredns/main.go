// CoreDNS with the plugins the real node's Corefile (hack/node/Corefile) uses, and the two more
// the Gateway API conformance suite's own DNS backend needs (forward, whoami: hack/gateway.sh
// runs this binary as that backend's image), and nothing else: the full build links every cloud
// provider's SDK (route53, azure, clouddns...) for nothing, and takes four minutes of a cold CI
// run. The directive order is CoreDNS's own (plugin.cfg).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func init() {
	dnsserver.Directives = []string{"bind", "errors", "log", "cache", "template", "kubernetes", "forward", "whoami"}
}

func main() {
	coremain.Run()
}
