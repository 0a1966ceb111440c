#!/usr/bin/env bash
# Runs every test suite. Integration suites need `make infra-up` and `make cluster-up`; they fail
# (never skip) with a message naming the missing part. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
export UV_PYTHON_DOWNLOADS=never
[ -f "$MP_CACHE/infra.env" ] && source "$MP_CACHE/infra.env"
[ -f "$MP_CACHE/cluster.env" ] && source "$MP_CACHE/cluster.env"
# pytest's own exit code is ours: 5 (no tests collected) is a failure too.
exec uv run --frozen pytest "$@"
