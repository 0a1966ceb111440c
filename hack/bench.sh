#!/usr/bin/env bash
# Benchmarks of the operator and the services against baselines measured in the same run
# (tests/bench/, plain scripts that pytest does not collect). Needs `make infra-up cluster-up`.
#   hack/bench.sh [--quick] [--only services|consumers|operator]   run; table on stdout, files in
#                                                   bench-results/ (consumers: no cluster needed)
#   hack/bench.sh publish [DIR]   copy a run (default: the latest) to tests/bench/published/ and the README
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

if [ "${1:-}" = publish ]; then
  exec uv run --frozen python tests/bench/run.py --publish "${2:-bench-results/latest}"
fi

# wrk (C, one thread) is the throughput client: cheaper on two shared cores than a Python one.
command -v wrk >/dev/null || need_apt wrk

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
for port in 15432 16379 15673; do
  port_open "$port" || die "nothing listens on 127.0.0.1:$port: run make infra-up"
done
case " $* " in
  *" --only consumers "* | *" --only=consumers "*) ;;
  *) port_open 16443 || die "the local kube-apiserver (127.0.0.1:16443) is down: run make cluster-up" ;;
esac

exec uv run --frozen python tests/bench/run.py "$@"
