"""The scores a score analytics query reads, with one dimension attached (SQL fragments and a probe).

Dimensions (as in ``metrics_query``): ``evaluator`` and ``source`` are score columns; ``user``, ``session``
(the score's own session first) and ``tag`` come from the score's trace (``traces`` table); ``model`` and
``prompt_version`` from its span (``spans``), or from every LLM span of the trace for trace-level scores.
A score counts under each of its trace's tags or models. Spans and traces are looked up only among those
that started at most ``DIMENSION_LOOKBACK_NS`` before the range (a score later than that after its span
falls under ""). SQL is assembled from the fixed fragments below; everything a caller sends is a
parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from otelguard.storage.clickhouse.scores import ScoreFilter, score_filter_sql
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = [
    "DIMENSIONS",
    "DIMENSION_LOOKBACK_NS",
    "JOIN_SETTINGS",
    "Dimension",
    "ScoreProfile",
    "detect_data_type",
    "needs_levels",
    "num",
    "score_profiles",
    "scored_source",
]

Dimension = Literal["model", "prompt_version", "user", "session", "evaluator", "source", "tag"]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
DIMENSION_LOOKBACK_NS = 7 * 86400 * 10**9
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"

# Context rows are joined on 64-bit cityHash64 keys instead of the 16-32 character ids: integer hash
# joins measured ~3x faster. A collision needs two of a project's spans (or traces) in one query window to
# share a 64-bit hash (~3e-8 for a million of them); it would mislabel one score's dimension, nothing else.
# Span-level scores key on their span, trace-level ones on their trace (a different hash domain).
_SCORE_SPAN_KEY = "if(span_id != '', cityHash64(span_id), cityHash64('trace', trace_id))"
_SPAN_EXPR = {
    "model": "toString(model)",
    "prompt_version": (
        "if(prompt_name = '', '', concat(toString(prompt_name), '@v', toString(prompt_version)))"
    ),
}
_SPAN_SCALAR = {"model": "model", "prompt_version": _SPAN_EXPR["prompt_version"]}
# Hash joins: the plain algorithm beat the default parallel_hash by ~2x on 2 cores for these lookups.
JOIN_SETTINGS = "SETTINGS join_algorithm = 'hash'"
# dimension → (context: "" | "traces" | "spans", expression in the inner select, array-valued?)
_DIM_SQL: dict[str, tuple[str, str, bool]] = {
    "evaluator": ("", "toString(sc.evaluator_name)", False),
    "source": ("", "toString(sc.source)", False),
    "user": ("traces", "cx.d_user", False),
    "session": ("traces", "if(sc.session_id != '', sc.session_id, cx.d_session)", False),
    "tag": ("traces", "if(empty(cx.d_tags), [''], cx.d_tags)", True),
    "model": ("spans", "if(empty(cx.dims), [''], cx.dims)", True),  # scalar cx.dims: see scored_source
    "prompt_version": ("spans", "if(empty(cx.dims), [''], cx.dims)", True),
}
_TRACES_CONTEXT = """SELECT cityHash64(trace_id) AS k, max(user_id) AS d_user, max(session_id) AS d_session,
            groupUniqArrayArray(tags) AS d_tags
        FROM {traces}
        WHERE project_id = {{project_id:String}} AND start_time >= {floor} AND start_time < {ceil}
          AND cityHash64(trace_id) IN (SELECT cityHash64(trace_id) FROM {scores} WHERE {where})
        GROUP BY k"""
# Span-level scores look their span up among every LLM span of the window (no IN filter: building the
# hash table costs about what an IN set of the scored ids would, and eval workers score most LLM spans);
# trace-level scores need a GROUP BY over their traces' spans, which an IN filter keeps small.
_SPAN_PART = """SELECT cityHash64(span_id) AS k, {value} AS dims
        FROM {spans}
        WHERE project_id = {{project_id:String}} AND start_time >= {floor} AND start_time < {ceil}
          AND {expr} != ''"""
_TRACE_PART = """SELECT cityHash64('trace', trace_id) AS k, groupUniqArray({expr}) AS dims
        FROM {spans}
        WHERE project_id = {{project_id:String}} AND start_time >= {floor} AND start_time < {ceil}
          AND {expr} != ''
          AND cityHash64('trace', trace_id) IN (
              SELECT cityHash64('trace', trace_id) FROM {scores} WHERE {where} AND span_id = '')
        GROUP BY k"""


def num(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class ScoreProfile:
    data_type: str
    lo: float | None  # value range (before de-duplication: a superset, fine for histogram edges)
    hi: float | None
    span_level: bool = True  # some scores are about a span
    trace_level: bool = True  # some are about a whole trace (or session)


def detect_data_type(
    transport: ClickHouseTransport, project_id: str, flt: ScoreFilter, *, database: str | None = None
) -> str | None:
    """The most frequent data type among the filtered scores (None when there are none)."""
    profiles = score_profiles(transport, project_id, flt, database)
    return next(iter(profiles)) if profiles else None


def score_profiles(
    transport: ClickHouseTransport,
    project_id: str,
    flt: ScoreFilter,
    database: str | None,
    *,
    levels: bool = False,
) -> dict[str, ScoreProfile]:
    """Data types of the filtered scores, most frequent first, with their value range (and, with
    ``levels``, whether they are about spans and/or traces). Reads without FINAL: a primary-key range
    scan of two small columns (plus ``span_id`` for ``levels``), cheap next to the aggregation."""
    params: dict[str, Any] = {"project_id": project_id}
    where = ["project_id = {project_id:String}", *score_filter_sql(flt, params)]
    counts = "countIf(span_id != '') AS n_span, countIf(span_id = '')" if levels else "1 AS n_span, 1"
    rows = transport.query(
        f"SELECT data_type, count() AS n, min(value) AS lo, max(value) AS hi, {counts} AS n_trace\n"
        f"FROM {qualified_table(transport, database, 'scores')}\n"
        f"WHERE {' AND '.join(where)}\nGROUP BY data_type ORDER BY n DESC, data_type LIMIT 10",
        params,
    )
    return {
        str(r["data_type"]): ScoreProfile(
            str(r["data_type"]), num(r["lo"]), num(r["hi"]), bool(r["n_span"]), bool(r["n_trace"])
        )
        for r in rows
    }


def needs_levels(dimension: str | None) -> bool:
    """Whether the dimension's lookup differs for span-level and trace-level scores."""
    return dimension in _SPAN_EXPR


def scored_source(
    transport: ClickHouseTransport,
    project_id: str,
    flt: ScoreFilter,
    dimension: str | None,
    params: dict[str, Any],
    *,
    database: str | None = None,
    span_level: bool = True,
    trace_level: bool = True,
) -> tuple[str, str]:
    """``(FROM clause, trailing ARRAY JOIN or "")`` yielding ``ts, v, sv, dim`` per filtered score.
    ``span_level``/``trace_level`` False promise that no score is about a span / a whole trace: the
    span dimensions then skip that half of their lookup (and a scalar join replaces the array one)."""
    scores = qualified_table(transport, database, "scores")
    params["project_id"] = project_id
    where = " AND ".join(["project_id = {project_id:String}", *score_filter_sql(flt, params)])
    context, expr, is_array = _DIM_SQL[dimension] if dimension else ("", "''", False)
    columns = ["timestamp", "value", "string_value", "session_id", "evaluator_name", "source"]
    join = ""
    if context:
        assert dimension is not None and flt.start_ns is not None and flt.end_ns is not None
        params["ctx_floor_ns"] = max(0, flt.start_ns - DIMENSION_LOOKBACK_NS)
        params["ctx_ceil_ns"] = flt.end_ns
        bounds = {
            "floor": _NS % "ctx_floor_ns",
            "ceil": _NS % "ctx_ceil_ns",
            "scores": scores,
            "where": where,
        }
        if context == "traces":
            columns.append("cityHash64(trace_id) AS k")
            ctx_sql = _TRACES_CONTEXT.format(traces=qualified_table(transport, database, "traces"), **bounds)
        else:
            spans, span_expr = qualified_table(transport, database, "spans"), _SPAN_EXPR[dimension]
            only_spans = span_level and not trace_level
            columns.append(f"{'cityHash64(span_id)' if only_spans else _SCORE_SPAN_KEY} AS k")
            parts = []
            if span_level:
                # Alone, the span lookup joins the LowCardinality column itself (measured ~1.5x faster).
                value = _SPAN_SCALAR[dimension] if only_spans else f"[{span_expr}]"
                parts.append(_SPAN_PART.format(spans=spans, expr=span_expr, value=value, **bounds))
            if trace_level:
                parts.append(_TRACE_PART.format(spans=spans, expr=span_expr, **bounds))
            ctx_sql = "\n        UNION ALL\n        ".join(parts)
            if only_spans:
                expr, is_array = "cx.dims", False
        join = f"\n    LEFT ANY JOIN (\n        {ctx_sql}\n    ) AS cx ON sc.k = cx.k"
    inner = f"SELECT {', '.join(columns)}\n        FROM {scores} FINAL WHERE {where}"
    alias = "d" if is_array else "dim"
    source = (
        f"(\n    SELECT sc.timestamp AS ts, sc.value AS v, sc.string_value AS sv, {expr} AS {alias}\n"
        f"    FROM (\n        {inner}\n    ) AS sc{join}\n)"
    )
    return source, ("ARRAY JOIN d AS dim" if is_array else "")
