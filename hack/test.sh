#!/usr/bin/env bash
# Runs every test suite, after starting the infrastructure and the control plane when they are down.
# A suite whose part is missing fails (never skips) naming it. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
export UV_PYTHON_DOWNLOADS=never
# Tests opt into the fast, non-durable store settings (hack/infra.sh: fsync off, Redis without an
# append-only file) for any server a suite starts; `make up` and `make infra-up` stay durable.
# The crash suite (tests/crash) runs private stores with the durable settings whatever this says.
export MP_INFRA_FAST=1
log "MP_INFRA_FAST=1: stores the tests start use the fast settings (fsync off, no Redis AOF): test data only"
# (status exits 1 when a server is down: not ours to judge here)
durable=$({ hack/infra.sh status 2>/dev/null || true; } |
  awk '($1 == "postgres" || $1 == "redis") && $5 == "durable" {printf "%s ", $1}')
if [ -n "$durable" ]; then
  log "the running ${durable}keep(s) the durable settings (make infra-up's default): tests are slower" \
    "on them; for speed, when no one else uses them: MP_INFRA_FAST=1 hack/infra.sh restart ${durable% }"
fi
# What the suites need, started when down (idempotent; fast settings when this starts them). The
# suites that use the platform of `make up` (tests/node, e2e, web, stack) start it themselves.
hack/infra.sh up
hack/cluster.sh up
[ -f "$MP_CACHE/infra.env" ] && source "$MP_CACHE/infra.env"
[ -f "$MP_CACHE/cluster.env" ] && source "$MP_CACHE/cluster.env"
# pytest's own exit code is ours: 5 (no tests collected) is a failure too.
# The slowest tests, named at the end: what a cold CI run (60 min budget) is spent on.
exec uv run --frozen pytest --durations=15 "$@"
