#!/usr/bin/env bash
# Builds, tags, saves, pushes and kind-loads every image of the platform:
#   operator, auth ... websocket   hack/images/Dockerfile (PACKAGE picks the workspace package)
#   web                            services/web/Dockerfile (static files served by nginx)
#   legacy                         hack/images/legacy/Dockerfile (the legacy monolith's stand-in)
#   postgres redis rabbitmq minio  hack/images/<name>/Dockerfile (the operator's managed mode)
# Two engines, one set of Dockerfiles:
#   docker   on a Docker host (CI's kind job, a laptop): the Dockerfiles' registry bases.
#   buildah  anywhere else (the default when no Docker engine answers): no registry at all; the
#            bases are Debian root file systems made here (hack/images/bases.sh), passed as
#            build-args. Images land in the podman/buildah store (/var/lib/containers).
# A build is skipped when the image already carries the content key of its inputs (Dockerfile,
# context files, build-args, base image), so a second `make images` takes seconds.
#   hack/images.sh names                    every image name, one a line
#   hack/images.sh list [NAME...]           image references, one a line
#   hack/images.sh build [NAME...]          build what changed (default: every image)
#   hack/images.sh sizes [NAME...]          NAME, reference and size of each built image
#   hack/images.sh save DIR [NAME...]       one OCI archive per image into DIR (for containerd)
#   hack/images.sh load [NAME...]           load into the kind cluster $KIND_CLUSTER
#   hack/images.sh push [NAME...]           push to $IMAGE_REPOSITORY
# Environment: IMAGE_REPOSITORY (default ghcr.io/acme/messaging), IMAGE_TAG (the tag of the
# operator, services, web and legacy images; default: the charts' appVersions, which is what the
# chart and the sample platforms deploy), IMAGE_ENGINE (docker|buildah; default: docker when
# `docker info` answers), KIND_CLUSTER (default messaging), DRY_RUN=1 prints the commands only.
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-ghcr.io/acme/messaging}"
KIND_CLUSTER="${KIND_CLUSTER:-messaging}"
DRY_RUN="${DRY_RUN:-0}"
IMAGES_DIR="$REPO_ROOT/hack/images"
WEB_DIR="$REPO_ROOT/services/web"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
BASE_IDS="" # the local bases' image ids (buildah), part of every content key

# image name -> workspace package (hack/images/Dockerfile). The name is what the operator puts
# after spec.imageRepository (<imageRepository>/<name>:<version>), and the chart's image.repository.
declare -A PACKAGES=(
  [operator]=messaging-operator
  [auth]=messaging-auth
  [users]=messaging-users
  [messages]=messaging-messages
  [groups]=messaging-groups
  [media]=messaging-media
  [relay]=messaging-relay
  [notifications]=messaging-notifications
  [websocket]=messaging-websocket
)
INFRA_IMAGES=(postgres redis rabbitmq minio)
ALL_IMAGES=(operator auth users messages groups media relay notifications websocket web legacy
  "${INFRA_IMAGES[@]}")

chart_app_version() { sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$REPO_ROOT/charts/$1/Chart.yaml"; }

# The managed-mode images' tags: the operator deploys these (builders/infrastructure.py).
infra_tag() {
  local constant
  constant=$(echo "$1" | tr '[:lower:]' '[:upper:]')_IMAGE_TAG
  sed -n "s/^$constant = \"\\(.*\\)\"\$/\\1/p" \
    "$REPO_ROOT/operator/src/messaging_operator/builders/infrastructure.py"
}

image_tag() {
  case $1 in
    postgres | redis | rabbitmq | minio) infra_tag "$1" ;;
    operator) echo "${IMAGE_TAG:-$(chart_app_version messaging-operator)}" ;;
    *) echo "${IMAGE_TAG:-$(chart_app_version messaging-platform)}" ;;
  esac
}

image_ref() { echo "$IMAGE_REPOSITORY/$1:$(image_tag "$1")"; }

run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '%q ' "$@" && echo
  else
    "$@"
  fi
}

check_names() {
  local name known=" ${ALL_IMAGES[*]} "
  for name in "$@"; do
    [[ $known == *" $name "* ]] || die "unknown image '$name' (known: ${ALL_IMAGES[*]})"
  done
}

choose_engine() {
  if [ -n "${IMAGE_ENGINE:-}" ]; then
    ENGINE=$IMAGE_ENGINE
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    ENGINE=docker
  else
    ENGINE=buildah
  fi
  case $ENGINE in
    docker | buildah) ;;
    *) die "IMAGE_ENGINE must be docker or buildah (got '$ENGINE')" ;;
  esac
  [ "$DRY_RUN" = 1 ] && return 0
  if [ "$ENGINE" = buildah ]; then
    need_apt buildah podman runc mmdebstrap
  else
    docker info >/dev/null 2>&1 || die "no Docker engine answers to 'docker info' (IMAGE_ENGINE=docker)"
  fi
}

# --- what each image is built from ---------------------------------------------------------
# Sets DOCKERFILE, CONTEXT, ARGS (build-args) and INPUTS (paths whose content keys the build).
recipe() {
  local name=$1
  ARGS=()
  case $name in
    web)
      DOCKERFILE="$WEB_DIR/Dockerfile" CONTEXT="$WEB_DIR"
      INPUTS=(services/web/Dockerfile services/web/nginx.conf services/web/package-lock.json
        services/web/index.html services/web/app services/web/vite.config.ts
        services/web/tsconfig.json)
      ;;
    legacy)
      DOCKERFILE="$IMAGES_DIR/legacy/Dockerfile" CONTEXT="$REPO_ROOT"
      INPUTS=(hack/images/legacy uv.lock pyproject.toml services/kit/pyproject.toml
        hack/stack/legacy_monolith.py)
      ;;
    postgres | redis | rabbitmq | minio)
      DOCKERFILE="$IMAGES_DIR/$name/Dockerfile" CONTEXT="$IMAGES_DIR/$name"
      INPUTS=("hack/images/$name")
      ;;
    operator)
      DOCKERFILE="$IMAGES_DIR/Dockerfile" CONTEXT="$REPO_ROOT"
      INPUTS=(hack/images/Dockerfile .dockerignore uv.lock pyproject.toml operator/pyproject.toml
        operator/src)
      ARGS+=(--build-arg "PACKAGE=${PACKAGES[$name]}")
      ;;
    *)
      DOCKERFILE="$IMAGES_DIR/Dockerfile" CONTEXT="$REPO_ROOT"
      INPUTS=(hack/images/Dockerfile .dockerignore uv.lock pyproject.toml services/kit/pyproject.toml
        services/kit/src "services/$name/pyproject.toml" "services/$name/src")
      ARGS+=(--build-arg "PACKAGE=${PACKAGES[$name]}")
      ;;
  esac
  ARGS+=(--build-arg "VERSION=$(image_tag "$name")")
  if [ "$ENGINE" = buildah ]; then
    case $name in
      web) ARGS+=(--build-arg "NGINX_IMAGE=$NGINX_IMAGE" --build-arg DIST_FROM=prebuilt) ;;
      postgres | redis | rabbitmq | minio) ARGS+=(--build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE") ;;
      *) ARGS+=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --build-arg "UV_IMAGE=$UV_IMAGE") ;;
    esac
  fi
}

# sha256 over the inputs' paths and bytes, the build-args and the base images' ids.
content_key() {
  local name=$1
  {
    (cd "$REPO_ROOT" && find "${INPUTS[@]}" -type f -not -path '*/__pycache__/*' \
      -not -path '*/node_modules/*' -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "${ARGS[@]}"
    [ "$name" != minio ] || sha256sum "$MINIO_BIN"
    [ "$name" != web ] || [ "$ENGINE" != buildah ] \
      || (cd "$WEB_DIR/dist" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    echo "$BASE_IDS"
  } | sha256sum | cut -c1-16
}

image_key() { # the content key an existing image carries, or nothing
  if [ "$ENGINE" = buildah ]; then
    buildah inspect --type image --format '{{index .OCIv1.Config.Labels "io.messaging.content-key"}}' "$1" 2>/dev/null || true
  else
    docker image inspect --format '{{index .Config.Labels "io.messaging.content-key"}}' "$1" 2>/dev/null || true
  fi
}

prepare_local() {
  [ "$ENGINE" = buildah ] || return 0
  local line
  BASES=()
  if [ "$DRY_RUN" = 1 ]; then
    mapfile -t BASES < <("$IMAGES_DIR/bases.sh" --list)
  else
    mapfile -t BASES < <("$IMAGES_DIR/bases.sh") || die "the local base images could not be built"
  fi
  for line in "${BASES[@]}"; do declare -g "$line"; done
  # Read once: every image's content key includes the ids of the bases.
  [ "$DRY_RUN" = 1 ] || BASE_IDS=$(for line in "${BASES[@]}"; do
    buildah inspect --type image --format '{{.FromImageID}}' "${line#*=}"
  done)
}

# The web client's files for the local build: `npm run build` when its sources changed.
prepare_web_dist() {
  [ "$ENGINE" = buildah ] && [ "$DRY_RUN" != 1 ] || return 0
  local stamp="$WEB_DIR/dist/.sources-key" key
  key=$(cd "$WEB_DIR" && find app index.html package-lock.json tsconfig.json vite.config.ts -type f \
    -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then return 0; fi
  log "building the web client's static files (npm run build)"
  [ -d "$WEB_DIR/node_modules" ] || (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci in services/web failed"
  (cd "$WEB_DIR" && npm run --silent build >/dev/null) || die "npm run build in services/web failed"
  echo "$key" >"$stamp"
}

prepare_minio() {
  MINIO_BIN=/dev/null
  [ "$DRY_RUN" != 1 ] || return 0
  MINIO_BIN="$("$REPO_ROOT/hack/tools/build.sh" --path minio)/minio" || die "could not build MinIO"
  install -m 0755 "$MINIO_BIN" "$IMAGES_DIR/minio/minio"
}

build_one() {
  local name=$1 ref key revision created started
  ref=$(image_ref "$name")
  recipe "$name"
  if [ "$DRY_RUN" = 1 ]; then
    key=dry-run
  else
    key=$(content_key "$name")
    if [ "$(image_key "$ref")" = "$key" ]; then
      log "$ref is up to date (content key $key)"
      return 0
    fi
  fi
  revision=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
  created=$(git -C "$REPO_ROOT" log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z)
  ARGS+=(--build-arg "REVISION=$revision" --build-arg "CREATED=$created"
    --build-arg "SOURCE=${IMAGE_SOURCE:-unknown}" --label "io.messaging.content-key=$key")
  log "building $ref with $ENGINE"
  started=$SECONDS
  if [ "$ENGINE" = buildah ]; then
    # Host network for the build steps only (apt and PyPI downloads), with the host's trust store
    # (an egress proxy may present its own CA); layers cached between runs. Docker's manifest
    # format: it keeps SHELL (pipefail in RUN) and HEALTHCHECK, which OCI's config cannot hold.
    local trust=()
    if [ -s "$HOST_CA_BUNDLE" ]; then
      trust=(--volume "$HOST_CA_BUNDLE:/run/host-ca.crt:ro" --build-arg SSL_CERT_FILE=/run/host-ca.crt)
    fi
    local bud=(buildah bud --quiet --layers --network host --format docker --file "$DOCKERFILE"
      "${trust[@]}" "${ARGS[@]}" --tag "$ref" "$CONTEXT")
    if [ "$DRY_RUN" = 1 ]; then run "${bud[@]}"; else "${bud[@]}" >/dev/null; fi \
      || die "building $ref failed (see above)"
  else
    run docker build --file "$DOCKERFILE" "${ARGS[@]}" --tag "$ref" "$CONTEXT" \
      || die "building $ref failed (see above)"
  fi
  [ "$DRY_RUN" = 1 ] || log "built $ref in $((SECONDS - started))s"
}

# IMAGE_JOBS builds at a time (default 2): a cold build waits mostly on downloads and layer
# commits, so two overlap well on 2 cores. Each build's output goes to its own log, shown on failure.
build() {
  prepare_local
  local name jobs=${IMAGE_JOBS:-2} logs failed=()
  for name in "$@"; do
    case $name in web) prepare_web_dist ;; minio) prepare_minio ;; esac
  done
  if [ "$DRY_RUN" = 1 ] || [ "$jobs" -le 1 ]; then
    for name in "$@"; do build_one "$name"; done
    return 0
  fi
  logs=$(mktemp -d)
  declare -A pids=()
  for name in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    build_one "$name" >"$logs/$name.log" 2>&1 &
    pids[$name]=$!
  done
  for name in "$@"; do
    if ! wait "${pids[$name]}"; then failed+=("$name"); fi
    grep -v 'level=warning msg="SHELL is not supported' "$logs/$name.log" >&2 || true
  done
  rm -rf "$logs"
  ((${#failed[@]} == 0)) || die "these images failed to build: ${failed[*]} (their output is above)"
}

sizes() {
  local name
  for name in "$@"; do
    if [ "$ENGINE" = buildah ]; then
      printf '%-14s %-50s %s\n' "$name" "$(image_ref "$name")" \
        "$(podman image inspect --format '{{.Size}}' "$(image_ref "$name")" | numfmt --to=si --suffix=B)"
    else
      printf '%-14s %-50s %s\n' "$name" "$(image_ref "$name")" \
        "$(docker image inspect --format '{{.Size}}' "$(image_ref "$name")" | numfmt --to=si --suffix=B)"
    fi
  done
}

save() {
  local dir=$1 name
  shift
  mkdir -p "$dir"
  for name in "$@"; do
    if [ "$ENGINE" = buildah ]; then
      run podman save --quiet --format oci-archive --output "$dir/$name.tar" "$(image_ref "$name")"
    else
      run docker save --output "$dir/$name.tar" "$(image_ref "$name")"
    fi
  done
}

load() {
  local kind name archive
  if [ "$DRY_RUN" = 1 ]; then
    kind=kind
  else
    kind="$("$REPO_ROOT/hack/tools/build.sh" --path kind)/kind"
  fi
  for name in "$@"; do
    log "loading $(image_ref "$name") into kind cluster $KIND_CLUSTER"
    if [ "$ENGINE" = docker ]; then
      run "$kind" load docker-image --name "$KIND_CLUSTER" "$(image_ref "$name")"
    else
      archive=$(mktemp --suffix .tar)
      run podman save --quiet --format docker-archive --output "$archive" "$(image_ref "$name")"
      run "$kind" load image-archive --name "$KIND_CLUSTER" "$archive"
      rm -f "$archive"
    fi
  done
}

push() {
  local name
  for name in "$@"; do
    if [ "$ENGINE" = buildah ]; then
      run buildah push "$(image_ref "$name")"
    else
      run docker push "$(image_ref "$name")"
    fi
  done
}

main() {
  local cmd="${1:-}" dir=""
  [ $# -gt 0 ] && shift
  if [ "$cmd" = names ]; then
    printf '%s\n' "${ALL_IMAGES[@]}"
    return 0
  fi
  if [ "$cmd" = save ]; then
    [ $# -gt 0 ] || die "usage: hack/images.sh save DIR [NAME...]"
    dir=$1
    shift
  fi
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ALL_IMAGES[@]}")
  check_names "${names[@]}"
  case "$cmd" in
    list)
      for name in "${names[@]}"; do image_ref "$name"; done
      return 0
      ;;
    build | sizes | save | load | push) choose_engine ;;
    *) die "usage: hack/images.sh names|list|build|sizes|save|load|push [NAME...]  (names: ${ALL_IMAGES[*]})" ;;
  esac
  case "$cmd" in
    build) build "${names[@]}" ;;
    sizes) sizes "${names[@]}" ;;
    save) save "$dir" "${names[@]}" ;;
    load) load "${names[@]}" ;;
    push) push "${names[@]}" ;;
  esac
}

main "$@"
