#!/usr/bin/env bash
# Prints a directory for an embedded PostgreSQL cluster that the postgres user can reach.
# Usage: scripts/data-dir.sh NAME   (prefers ./.tidemark/NAME, else /var/tmp/tidemark-<uid>-<hash>/NAME)
set -euo pipefail
name=$1
preferred="$PWD/.tidemark"
if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$PWD" 2>/dev/null; then
    echo "$preferred${name:+/$name}"
else
    # A parent of this checkout is closed to other users (e.g. /root): the cluster goes elsewhere.
    hash=$(printf '%s' "$PWD" | sha1sum | cut -c1-10)
    echo "/var/tmp/tidemark-$(id -u)-$hash${name:+/$name}"
fi
