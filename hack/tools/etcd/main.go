// Command etcd is etcd's own server entry point, built from a module of ours because
// etcd's main module carries replace directives that `go install` refuses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
