"""Run as a subprocess: print {trace_id: span rows} from a stopped platform's chDB as JSON.

A separate process because chDB allows one session per process and the store belongs to the platform.
"""

from __future__ import annotations

import json
import sys

from chdb import session

if __name__ == "__main__":
    s = session.Session(sys.argv[1])
    out = s.query(
        "SELECT trace_id, count() AS rows, uniqExact(span_id) AS spans "
        "FROM otelguard.spans GROUP BY trace_id",
        "JSONEachRow",
    )
    rows = [json.loads(line) for line in str(out).splitlines() if line.strip()]
    print(json.dumps({r["trace_id"]: [int(r["rows"]), int(r["spans"])] for r in rows}))
