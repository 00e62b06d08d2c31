#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a private PostgreSQL for the
# integration tests, runs every test, and stops that PostgreSQL again.
# Usage: scripts/test.sh [extra swift test arguments, e.g. --filter IngestTests]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/format.sh --check
swift build --build-tests
bin=$(swift build --show-bin-path)

data_dir=$(scripts/data-dir.sh test)
url=$("$bin/tidemark" db start --data-dir "$data_dir")
stop_database() { "$bin/tidemark" db stop --data-dir "$data_dir" >/dev/null || true; }
trap stop_database EXIT

export TIDEMARK_TEST_DATABASE_URL="$url"
export TIDEMARK_BINARY="$bin/tidemark"
mkdir -p test-artifacts
swift test --skip-build "$@"
