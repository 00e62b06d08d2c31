#!/usr/bin/env bash
# Installs the Debian packages Tidemark needs that are missing. Extra package names may be
# passed (the benchmark passes wrk, the browser tests chromium).
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(postgresql libpq-dev libcurl4-openssl-dev zlib1g-dev "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing system packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "error: not root and no sudo; install them yourself: apt-get install ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
