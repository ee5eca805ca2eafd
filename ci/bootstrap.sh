#!/usr/bin/env bash
# Installs every Debian package gomap needs (plus any given as arguments).
# Idempotent: when everything is already installed it prints nothing and exits 0.
#
#   ci/bootstrap.sh              # the project's packages
#   ci/bootstrap.sh chromium     # ... plus extra packages, installed the same way
#
# Exit status: 0 everything is installed; 3 something could not be installed.
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  echo "usage: ci/bootstrap.sh [PACKAGE...]"
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
for arg in "$@"; do
  [[ $arg != -* ]] || { echo "ci/bootstrap.sh: error: unknown option '$arg' (see --help)" >&2; exit 2; }
done

export DEBIAN_FRONTEND=noninteractive

packages=(
  cmake
  g++
  clang-14
  libclang-rt-14-dev
  llvm-14
  libgtest-dev
  libgmock-dev
  librapidcheck-dev
  libbenchmark-dev
  libabsl-dev
  libboost1.81-dev
  libxxhash-dev
  libcli11-dev
  python3
  python3-jinja2
  golang-1.19-go
  git
)
packages+=("$@")

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -E)
  else
    echo "bootstrap: not root and no sudo; cannot install: ${missing[*]}" >&2
    exit 3
  fi
fi

echo "bootstrap: installing ${missing[*]}"
# exit 3 (the environment failed, ci/README.md "Exit codes") rather than apt-get's own code
"${sudo_cmd[@]}" apt-get update || { echo "bootstrap: apt-get update failed" >&2; exit 3; }
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
  { echo "bootstrap: could not install ${missing[*]}" >&2; exit 3; }
