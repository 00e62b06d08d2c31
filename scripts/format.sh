#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's swift-format and .swift-format.
# Usage: scripts/format.sh          rewrite files in place
#        scripts/format.sh --check  exit 1 and list what is not formatted (run by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
    swift format lint --strict -r Sources Tests Package.swift
else
    swift format -i -r Sources Tests Package.swift
fi
