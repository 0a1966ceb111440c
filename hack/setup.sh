#!/usr/bin/env bash
# Installs the Python workspace: uv (pinned), then every package and dev tool from uv.lock into
# .venv with the machine's Python 3.11 (no interpreter downloads). Fast when nothing changed.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never

if ! command -v uv >/dev/null || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  log "installing uv $UV_VERSION from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
    || die "pip install uv==$UV_VERSION failed"
  # pyenv only sees new console scripts after a rehash.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  command -v uv >/dev/null || die "uv was installed but is not on PATH (pip put it in $(python3 -m site --user-base)/bin?)"
fi
command -v python3.11 >/dev/null || python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "Python 3.11 is required (found $(python3 --version 2>&1)); install it and rerun"
cd "$REPO_ROOT"
# --frozen: the lock file is the truth; a stale lock is an error to fix in a commit, not at install time.
uv sync --frozen --all-packages --all-extras --quiet || die "uv sync failed; run 'uv lock' if pyproject.toml changed"

# The web client (services/web) is an npm package: its modules (kept while package-lock.json is
# unchanged), and Debian's chromium for its browser test (playwright-core downloads no browser).
if command -v npm >/dev/null; then
  web=services/web
  if [ ! "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ]; then
    log "installing the web client's npm packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $web failed"
  fi
  need_apt chromium
else
  log "npm not found: skipping the web client (install nodejs and npm for its build and tests)"
fi
