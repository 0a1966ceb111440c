//go:build tools

// Package tools pins actionlint, the GitHub Actions workflow linter run by tests/packaging.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
