"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS)."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # docs/openapi.yaml describes an NDJSON body as the array of events its lines hold, so that
    # schemathesis generates real events; each goes out on its own line. Negative cases may be
    # any JSON value, sent as a single line; explicit bytes go out as they are.
    if isinstance(value, bytes):
        return value
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()
