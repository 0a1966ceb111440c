#!/usr/bin/env bash
# Builds, tags, pushes and kind-loads the platform's images: the operator and the eight services,
# all from hack/images/Dockerfile (one build-arg picks the package), and the web client from
# services/web/Dockerfile (npm build, then nginx). Needs a Docker engine (or
# podman: DOCKER=podman); there is none on the development machine, so CI's kind job runs it.
#   hack/images.sh list                 image references, one a line
#   hack/images.sh build [NAME...]      docker build (default: all images)
#   hack/images.sh load  [NAME...]      kind load docker-image into $KIND_CLUSTER
#   hack/images.sh push  [NAME...]      docker push
# Environment: IMAGE_REPOSITORY (default ghcr.io/acme/messaging), IMAGE_TAG (default dev),
# KIND_CLUSTER (default messaging), DOCKER (default docker), DRY_RUN=1 prints the commands only.
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-ghcr.io/acme/messaging}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
KIND_CLUSTER="${KIND_CLUSTER:-messaging}"
DOCKER="${DOCKER:-docker}"
DRY_RUN="${DRY_RUN:-0}"
DOCKERFILE="$REPO_ROOT/hack/images/Dockerfile"

# image name -> workspace package. The image name is what the operator puts after
# spec.imageRepository (<imageRepository>/<name>:<version>), and the chart's image.repository.
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
ALL_IMAGES=(operator auth users messages groups media relay notifications websocket web)
WEB_DIR="$REPO_ROOT/services/web"

run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '%q ' "$@" && echo
  else
    "$@"
  fi
}

image_ref() { echo "$IMAGE_REPOSITORY/$1:$IMAGE_TAG"; }

check_names() {
  local name
  for name in "$@"; do
    [ "$name" = web ] || [ -n "${PACKAGES[$name]:-}" ] || die "unknown image '$name' (known: ${ALL_IMAGES[*]})"
  done
}

need_docker() {
  [ "$DRY_RUN" = 1 ] && return 0
  command -v "$DOCKER" >/dev/null || die "'$DOCKER' not found: install Docker (or set DOCKER=podman)"
  "$DOCKER" info >/dev/null 2>&1 \
    || die "no container engine answers to '$DOCKER info': start Docker (this cannot run where none exists)"
}

build() {
  local name revision created version
  revision=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  version="${IMAGE_VERSION:-$IMAGE_TAG}"
  for name in "$@"; do
    if [ "$name" = web ]; then
      log "building $(image_ref web) (services/web)"
      run "$DOCKER" build --file "$WEB_DIR/Dockerfile" --build-arg "VERSION=$version" \
        --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
        --tag "$(image_ref web)" "$WEB_DIR"
      continue
    fi
    log "building $(image_ref "$name") (package ${PACKAGES[$name]})"
    run "$DOCKER" build \
      --file "$DOCKERFILE" \
      --build-arg "PACKAGE=${PACKAGES[$name]}" \
      --build-arg "VERSION=$version" \
      --build-arg "REVISION=$revision" \
      --build-arg "CREATED=$created" \
      --build-arg "SOURCE=${IMAGE_SOURCE:-unknown}" \
      --tag "$(image_ref "$name")" \
      "$REPO_ROOT"
  done
}

load() {
  local kind name
  if [ "$DRY_RUN" = 1 ]; then
    kind=kind
  else
    kind="$("$REPO_ROOT/hack/tools/build.sh" --path kind)/kind"
  fi
  for name in "$@"; do
    log "loading $(image_ref "$name") into kind cluster $KIND_CLUSTER"
    run "$kind" load docker-image --name "$KIND_CLUSTER" "$(image_ref "$name")"
  done
}

push() {
  local name
  for name in "$@"; do run "$DOCKER" push "$(image_ref "$name")"; done
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ALL_IMAGES[@]}")
  check_names "${names[@]}"
  case "$cmd" in
    list) for name in "${names[@]}"; do image_ref "$name"; done ;;
    build)
      need_docker
      build "${names[@]}"
      ;;
    load)
      need_docker
      load "${names[@]}"
      ;;
    push)
      need_docker
      push "${names[@]}"
      ;;
    *) die "usage: hack/images.sh list|build|load|push [NAME...]  (names: ${ALL_IMAGES[*]})" ;;
  esac
}

main "$@"
