//go:build tools

// Package tools pins the MinIO server, built by hack/tools/build.sh and run by hack/infra.sh as a
// separate process. MinIO is AGPL-3.0: we only run its server binary, never import its code.
package tools

import _ "github.com/minio/minio"
