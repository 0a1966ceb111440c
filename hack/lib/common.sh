# Shared by every hack/ script: cache locations, logging, bounded waits.
# Sourced, never run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MP_CACHE="${MP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/messaging-platform}"
MP_BIN_CACHE="$MP_CACHE/bin"
MP_STATE="$MP_CACHE/state"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '\033[1m[%s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS HINT -- COMMAND...
# Polls COMMAND until it succeeds; on timeout says what was awaited and how to look closer.
wait_for() {
  local what=$1 timeout=$2 hint=$3
  shift 4
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what did not become ready within ${timeout}s. $hint"
    fi
    sleep 0.3
  done
}

# terminate NAME PID: SIGTERM, up to 10 s to exit, then SIGKILL. The caller has checked that PID
# is still the process it started (each script's pid_of).
terminate() {
  local name=$1 pid=$2
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

# need_apt PACKAGE... : installs Debian packages that are missing (root only).
need_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]} (or install them yourself)"
  if [ ! -f "$MP_CACHE/.apt-updated" ] || [ -n "$(find "$MP_CACHE/.apt-updated" -mmin +1440)" ]; then
    apt-get update -qq || die "apt-get update failed"
    mkdir -p "$MP_CACHE" && touch "$MP_CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed"
}

# podman/buildah: this project's engine settings (see hack/images/containers.conf).
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO_ROOT/hack/images/containers.conf}"
