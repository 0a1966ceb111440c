#!/usr/bin/env bash
# Local base images for hosts without a registry: Debian bookworm root file systems made here with
# mmdebstrap and committed with buildah under localhost/messaging-base/. The Dockerfiles name their
# usual registry bases by default; hack/images.sh passes these instead (build-args) when it builds
# with buildah. Each base is keyed by the hash of its recipe (this file) and rebuilt only when the
# recipe changes, so a warm run costs one `buildah inspect` per base.
#   hack/images/bases.sh            build what is missing, print NAME=REFERENCE lines
#   hack/images/bases.sh --list     print NAME=REFERENCE lines only
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

SUITE=bookworm
UV_VERSION=0.13.9 # the uv that wrote uv.lock (hack/setup.sh pins the same)
# Bump to rebuild every base when something outside the recipe strings changes (e.g. the commit).
RECIPE_VERSION=2
PREFIX=localhost/messaging-base

# Leave documentation, manuals and translations out of every base: nothing reads them in a pod.
DPKG_EXCLUDES=(
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

# An nginx that runs as any uid with a read-only root: pid and temp files under /tmp, logs to
# the container's stdout/stderr, every site from conf.d (the web image drops its server there).
NGINX_CONF='worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    include /etc/nginx/conf.d/*.conf;
}'

declare -A PACKAGES=([debian]="" [python]="python3" [nginx]="nginx-light")
declare -A HOOKS=([debian]="" [python]=""
  [nginx]="printf '%s\n' '$NGINX_CONF' > \"\$1\"/etc/nginx/nginx.conf; rm -f \"\$1\"/etc/nginx/sites-enabled/*")

recipe_key() {
  printf '%s\n' "$RECIPE_VERSION" "$SUITE" "$1" "${PACKAGES[$1]:-}" "${HOOKS[$1]:-}" \
    "${DPKG_EXCLUDES[@]}" "$UV_VERSION" | sha256sum | cut -c1-12
}

ref() { echo "$PREFIX/$1:$SUITE-$(recipe_key "$1")"; }

have() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# mmdebstrap the root file system of NAME (its PACKAGES and HOOKS), committed as an image.
rootfs_image() {
  local name=$1 packages=${PACKAGES[$1]} hook=${HOOKS[$1]}
  local image tar
  image=$(ref "$name")
  have "$image" && return 0
  tar="$MP_CACHE/images/$name-$(recipe_key "$name").tar"
  mkdir -p "$(dirname "$tar")"
  log "base $image: mmdebstrap $SUITE with ${packages:-nothing extra} (cold: about a minute)"
  # Default mirrors of a stable suite: the release, its updates and its security updates.
  # The hooks run in mmdebstrap's shell with the root file system as $1: single quotes on purpose.
  # shellcheck disable=SC2016
  # merged-usr hook: /usr merged by mmdebstrap itself, so the usrmerge package (and the 46 MB of
  # Perl it pulls in) stays out.
  mmdebstrap --variant=minbase --include="ca-certificates${packages:+,$packages}" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${DPKG_EXCLUDES[@]}" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    ${hook:+--customize-hook="$hook"} \
    "$SUITE" "$tar" || die "mmdebstrap of $name failed (see above)"
  local ctr
  ctr=$(buildah from scratch)
  buildah add --quiet "$ctr" "$tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["/bin/bash"]' \
    --label "org.opencontainers.image.title=$name base ($SUITE, mmdebstrap)" \
    --label "org.opencontainers.image.version=$SUITE-$(recipe_key "$name")" "$ctr"
  buildah commit --quiet --rm "$ctr" "$image" >/dev/null
  rm -f "$tar"
}

# uv as a one-file image, the same shape as astral's uv image (/uv), from the PyPI wheel.
uv_image() {
  local image wheel_dir ctr
  image=$(ref uv)
  have "$image" && return 0
  log "base $image: uv $UV_VERSION from its PyPI wheel"
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    --platform manylinux_2_17_x86_64 --dest "$wheel_dir" "uv==$UV_VERSION" \
    || die "could not download the uv $UV_VERSION wheel"
  (cd "$wheel_dir" && python3 -m zipfile -e uv-*.whl unpacked) || die "could not unpack the uv wheel"
  chmod +x "$wheel_dir"/unpacked/uv-*.data/scripts/uv
  ctr=$(buildah from scratch)
  buildah copy --quiet "$ctr" "$wheel_dir"/unpacked/uv-*.data/scripts/uv /uv >/dev/null
  buildah commit --quiet --rm "$ctr" "$image" >/dev/null
  rm -rf "$wheel_dir"
}

build_all() {
  command -v mmdebstrap >/dev/null || need_apt mmdebstrap
  local name
  for name in debian python nginx; do rootfs_image "$name"; done
  uv_image
  forget_old_bases
}

# Untag bases of earlier recipes: images built on them keep their layers, the store its space.
forget_old_bases() {
  local current old
  current=" $(for name in debian python nginx uv; do ref "$name"; done | tr '\n' ' ') "
  buildah images --format '{{.Name}}:{{.Tag}}' | grep "^$PREFIX/" | while read -r old; do
    [[ $current == *" $old "* ]] || buildah rmi "$old" >/dev/null 2>&1 || true
  done
}

list() {
  echo "DEBIAN_IMAGE=$(ref debian)"
  echo "PYTHON_IMAGE=$(ref python)"
  echo "NGINX_IMAGE=$(ref nginx)"
  echo "UV_IMAGE=$(ref uv)"
}

case "${1:-}" in
  --list) list ;;
  "") build_all && list ;;
  *) die "usage: hack/images/bases.sh [--list]" ;;
esac
