#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a private PostgreSQL for the
# integration tests, runs every test, and stops that PostgreSQL again.
# Usage: scripts/test.sh [extra swift test arguments, e.g. --filter IngestTests]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh nginx chromium # nginx: the two-node test; chromium: the dashboard in a browser
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
# A hung test must fail the run in minutes, not at CI's 90-minute limit.
timeout --kill-after=30 1800 swift test --skip-build "$@" 2>&1 | tee test-artifacts/swift-test.log
# A live server fuzzed against docs/openapi.yaml (about 30 s); on full runs only, not with --filter.
if [ $# -eq 0 ]; then scripts/schemathesis.sh; fi
# XCTest prints "Executed 0 tests" (every test here is Swift Testing); end with the real count.
passed=$(grep -oE 'Test run with [0-9]+ tests? .*passed' test-artifacts/swift-test.log | tail -1 | grep -oE '[0-9]+' | head -1 || true)
if [ -n "$passed" ]; then echo "$passed passed, 0 failed"; fi
