"""Stored spans read back for evaluation (batch evaluation / backfill over a past time range).

Only what an evaluator needs: identity, kind, model, tags, prompt, input/output (bounded), timing, cost,
error, and the two attributes evaluators read (a reference answer and retrieved context).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = ["MAX_BACKFILL_SPANS", "StoredSpan", "spans_for_evaluation"]

MAX_BACKFILL_SPANS = 100_000
_TEXT_LIMIT = 16 * 1024
_ATTRS = ("otelguard.eval.expected", "otelguard.eval.context")
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"


@dataclass(frozen=True, slots=True)
class StoredSpan:
    project_id: str
    trace_id: str
    span_id: str
    session_id: str
    name: str
    kind: str
    model: str
    tags: list[str]
    prompt_name: str
    prompt_version: int
    input: str
    output: str
    start_time: int  # ns
    end_time: int  # ns
    total_cost: float
    cost_source: str
    status_code: str
    attributes: dict[str, str] = field(default_factory=dict)


def spans_for_evaluation(
    transport: ClickHouseTransport,
    project_id: str,
    start_ns: int,
    end_ns: int,
    *,
    kinds: Sequence[str] = (),
    limit: int = MAX_BACKFILL_SPANS,
    database: str | None = None,
) -> list[StoredSpan]:
    """The project's spans that started in [start_ns, end_ns), oldest first, at most ``limit``; ``kinds``
    narrows by span kind in SQL (the evaluator's other criteria are applied by the caller)."""
    params: dict[str, object] = {
        "project": project_id,
        "start": start_ns,
        "end": end_ns,
        "limit": max(1, min(limit, MAX_BACKFILL_SPANS)),
        "text": _TEXT_LIMIT,
        "kinds": list(kinds),
    }
    kind_filter = "AND kind IN {kinds:Array(String)}" if kinds else ""
    attrs = ", ".join(f"'{a}', attributes['{a}']" for a in _ATTRS)
    sql = f"""
        SELECT project_id, trace_id, span_id, session_id, name, toString(kind) AS kind,
               toString(model) AS model, tags, toString(prompt_name) AS prompt_name, prompt_version,
               substring(input, 1, {{text:UInt32}}) AS input, substring(output, 1, {{text:UInt32}}) AS output,
               toUnixTimestamp64Nano(start_time) AS start_ns, toUnixTimestamp64Nano(end_time) AS end_ns,
               total_cost, toString(cost_source) AS cost_source, toString(status_code) AS status_code,
               map({attrs}) AS eval_attributes
        FROM {qualified_table(transport, database, "spans")}
        WHERE project_id = {{project:String}}
          AND start_time >= {_NS % "start"} AND start_time < {_NS % "end"}
          {kind_filter}
        ORDER BY start_time, span_id
        LIMIT 1 BY span_id
        LIMIT {{limit:UInt32}}
    """
    return [
        StoredSpan(
            project_id=str(r["project_id"]),
            trace_id=str(r["trace_id"]),
            span_id=str(r["span_id"]),
            session_id=str(r["session_id"]),
            name=str(r["name"]),
            kind=str(r["kind"]),
            model=str(r["model"]),
            tags=[str(t) for t in r["tags"]],
            prompt_name=str(r["prompt_name"]),
            prompt_version=int(r["prompt_version"]),
            input=str(r["input"]),
            output=str(r["output"]),
            start_time=int(r["start_ns"]),
            end_time=int(r["end_ns"]),
            total_cost=float(r["total_cost"]),
            cost_source=str(r["cost_source"]),
            status_code=str(r["status_code"]),
            attributes={k: str(v) for k, v in dict(r["eval_attributes"]).items() if v},
        )
        for r in transport.query(sql, params)
    ]
