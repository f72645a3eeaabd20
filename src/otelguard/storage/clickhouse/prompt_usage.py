"""Prompt usage read from traces: per-version analytics over a time range, and the span samples around a
label move that regression checks compare.

A span belongs to a prompt version when its ``prompt_name``/``prompt_version`` columns say so (set from
``otelguard.prompt.*`` and the Langfuse/OpenLLMetry equivalents at ingest); spans with a name but no
version (0) are not counted. Everything is scoped to one project; re-sent copies of a span count once.

Definitions shared by both reads:
- latency: span duration in ms, over the version's LLM spans (kind ``llm``) when it has any, else over
  all its spans (a prompt scope may also tag the application span around the call);
- error: a span with status ``error``;
- guardrail hit: a ``guardrail_events`` row (one per failed rule) with the span's trace and span id, or
  with the span's trace and no span id (an event about the whole trace);
- scores: numeric and boolean rows of ``scores`` on the span, or on its trace without a span id; each
  score counts once per version even when it links to several of the version's spans.

``GLOBAL IN`` everywhere: on a cluster the tables are Distributed, and a plain IN whose subquery reads
another Distributed table is refused (double-distributed subquery).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = [
    "SAMPLE_WINDOW_NS",
    "SpanSample",
    "VersionUsage",
    "move_samples",
    "prompt_usage",
]

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"
_DAY_NS = 86_400 * 10**9
# Scores and guardrail events are looked up this far around the spans' range (they are written after,
# or just before, the span they judge).
_LINK_SLACK_NS = _DAY_NS
# A sample reaches at most this far from the label move (bounds the scan of a busy project).
SAMPLE_WINDOW_NS = 30 * _DAY_NS
_MAX_NS = 2**63 - 1

# One row per span (latest copy), with the values the aggregates read.
_SPAN_VALUES = """trace_id, span_id, prompt_version AS version, start_time,
            (toUnixTimestamp64Nano(end_time) - toUnixTimestamp64Nano(start_time)) / 1e6 AS lat_ms,
            kind = 'llm' AS is_llm, status_code = 'error' AS is_error,
            input_tokens, output_tokens, total_tokens, if(isFinite(total_cost), total_cost, 0) AS cost"""

_LATENCY = "if(countIf(is_llm) > 0, {fn}If({q})(lat_ms, is_llm), {fn}({q})(lat_ms))"  # LLM spans when any


@dataclass(frozen=True, slots=True)
class VersionUsage:
    version: int
    spans: int
    traces: int
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    error_rate: float  # 0..1, of spans
    guardrail_hits: int  # distinct guardrail events linked to the version's spans
    score_averages: dict[str, float]
    first_seen_ns: int | None
    last_seen_ns: int | None


@dataclass(frozen=True, slots=True)
class SpanSample:
    """Metrics of a sample of one version's spans (``prompts.regression.Sample`` has the same fields)."""

    spans: int = 0
    latency_ms_p95: float | None = None
    cost_usd_mean: float | None = None
    error_rate: float | None = None
    guardrail_hit_rate: float | None = None  # share of spans with at least one guardrail hit
    score_averages: dict[str, float] = field(default_factory=dict)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _hit(table: str, source: str) -> str:
    """1 when the row of ``source`` (trace_id, span_id) has a linked guardrail event."""
    scoped = f"project_id = {{project_id:String}} AND trace_id GLOBAL IN (SELECT trace_id FROM {source})"
    on_span = f"SELECT trace_id, span_id FROM {table} WHERE {scoped} AND span_id != ''"
    on_trace = f"SELECT trace_id FROM {table} WHERE {scoped} AND span_id = ''"
    return f"((trace_id, span_id) GLOBAL IN ({on_span}) OR trace_id GLOBAL IN ({on_trace}))"


def _scores_sql(scores: str, source: str, group: str, since: str = "") -> str:
    """Mean of each numeric score per ``group`` (a column of ``source``), each score counted once."""
    return (
        f"SELECT {group} AS grp, name, avg(value) AS mean FROM (\n"
        f"    SELECT DISTINCT s.{group} AS {group}, sc.id AS id, sc.name AS name, sc.value AS value\n"
        "    FROM (\n"
        "        SELECT id, trace_id, span_id, toString(name) AS name, value\n"
        f"        FROM {scores}\n"
        "        WHERE project_id = {project_id:String} AND lower(toString(data_type)) != 'categorical'\n"
        f"          AND isFinite(value){since} AND trace_id GLOBAL IN (SELECT trace_id FROM {source})\n"
        "        ORDER BY ingested_at DESC LIMIT 1 BY id\n"
        "    ) AS sc\n"
        f"    INNER JOIN {source} AS s ON sc.trace_id = s.trace_id\n"
        "    WHERE sc.span_id = '' OR sc.span_id = s.span_id\n"
        f")\nGROUP BY grp, name\nORDER BY grp, name"
    )


def _score_map(rows: list[dict[str, Any]]) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = {}
    for row in rows:
        mean = _float(row["mean"])
        if mean is not None:
            out.setdefault(row["grp"], {})[str(row["name"])] = mean
    return out


def prompt_usage(
    transport: ClickHouseTransport,
    project_id: str,
    name: str,
    start_ns: int,
    end_ns: int,
    *,
    database: str | None = None,
) -> list[VersionUsage]:
    """Usage of each version of the prompt by spans starting in [start_ns, end_ns), newest version first.
    Versions without spans in the range are absent."""
    spans = qualified_table(transport, database, "spans")
    events = qualified_table(transport, database, "guardrail_events")
    scores = qualified_table(transport, database, "scores")
    params: dict[str, Any] = {
        "project_id": project_id,
        "name": name,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "link_start_ns": max(0, start_ns - _LINK_SLACK_NS),
        "link_end_ns": min(_MAX_NS, end_ns + _LINK_SLACK_NS),
    }
    linked = (
        f"WITH linked AS (\n    SELECT {_SPAN_VALUES}\n    FROM {spans}\n"
        "    WHERE project_id = {project_id:String} AND prompt_name = {name:String} AND prompt_version > 0\n"
        f"      AND start_time >= {_NS % 'start_ns'} AND start_time < {_NS % 'end_ns'}\n"
        "    ORDER BY ingested_at DESC LIMIT 1 BY trace_id, span_id\n)\n"
    )
    usage_rows = transport.query(
        linked + "SELECT version, count() AS spans, uniqExact(trace_id) AS traces,\n"
        f"    {_LATENCY.format(fn='quantiles', q='0.5, 0.95')} AS latency,\n"
        "    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,\n"
        "    sum(total_tokens) AS total_tokens, sum(cost) AS cost_usd, avg(is_error) AS error_rate,\n"
        "    toUnixTimestamp64Nano(min(start_time)) AS first_ns,\n"
        "    toUnixTimestamp64Nano(max(start_time)) AS last_ns\n"
        "FROM linked GROUP BY version ORDER BY version DESC",
        params,
    )
    if not usage_rows:
        return []
    hit_rows = transport.query(
        linked + "SELECT l.version AS version, uniqExact(e.id) AS hits\n"
        "FROM (\n    SELECT id, trace_id, span_id\n"
        f"    FROM {events}\n"
        "    WHERE project_id = {project_id:String}\n"
        f"      AND timestamp >= {_NS % 'link_start_ns'} AND timestamp < {_NS % 'link_end_ns'}\n"
        "      AND trace_id GLOBAL IN (SELECT trace_id FROM linked)\n) AS e\n"
        "INNER JOIN linked AS l ON e.trace_id = l.trace_id\n"
        "WHERE e.span_id = '' OR e.span_id = l.span_id\nGROUP BY version",
        params,
    )
    hits = {int(r["version"]): int(r["hits"]) for r in hit_rows}
    score_sql = _scores_sql(scores, "linked", "version", f" AND timestamp >= {_NS % 'link_start_ns'}")
    score_means = {int(k): v for k, v in _score_map(transport.query(linked + score_sql, params)).items()}
    out: list[VersionUsage] = []
    for row in usage_rows:
        version = int(row["version"])
        latency = row["latency"] or [None, None]
        out.append(
            VersionUsage(
                version=version,
                spans=int(row["spans"]),
                traces=int(row["traces"]),
                latency_ms_p50=_float(latency[0]),
                latency_ms_p95=_float(latency[1]),
                input_tokens=int(row["input_tokens"]),
                output_tokens=int(row["output_tokens"]),
                total_tokens=int(row["total_tokens"]),
                cost_usd=_float(row["cost_usd"]) or 0.0,
                error_rate=_float(row["error_rate"]) or 0.0,
                guardrail_hits=hits.get(version, 0),
                score_averages=score_means.get(version, {}),
                first_seen_ns=int(row["first_ns"]),
                last_seen_ns=int(row["last_ns"]),
            )
        )
    return out


def _sample_branch(spans: str, side: str, version_param: str, before: bool) -> str:
    """One side's spans: the last N before the move (baseline) or the first N from it (candidate)."""
    bound = (
        f"start_time < {_NS % 'at_ns'} AND start_time >= {_NS % 'window_start_ns'}"
        if before
        else f"start_time >= {_NS % 'at_ns'} AND start_time < {_NS % 'window_end_ns'}"
    )
    order = "DESC" if before else "ASC"
    return (
        f"(SELECT '{side}' AS side, trace_id, span_id, start_time, lat_ms, is_llm, is_error, cost FROM (\n"
        f"        SELECT {_SPAN_VALUES}\n        FROM {spans}\n"
        "        WHERE project_id = {project_id:String} AND prompt_name = {name:String}\n"
        f"          AND prompt_version = {{{version_param}:UInt32}} AND {bound}\n"
        "        ORDER BY ingested_at DESC LIMIT 1 BY trace_id, span_id\n"
        f"    ) ORDER BY start_time {order}, span_id {order} LIMIT {{size:UInt32}})"
    )


def move_samples(
    transport: ClickHouseTransport,
    project_id: str,
    name: str,
    *,
    from_version: int | None,
    to_version: int,
    at_ns: int,
    size: int,
    database: str | None = None,
) -> tuple[SpanSample, SpanSample]:
    """(baseline, candidate) around a label move at ``at_ns``: ``from_version``'s last ``size`` spans
    before it and ``to_version``'s first ``size`` spans from it, each within ``SAMPLE_WINDOW_NS`` of the
    move. The baseline is empty when ``from_version`` is None (the label was created)."""
    spans = qualified_table(transport, database, "spans")
    params: dict[str, Any] = {
        "project_id": project_id,
        "name": name,
        "to_version": to_version,
        "at_ns": at_ns,
        "size": size,
        "window_start_ns": max(0, at_ns - SAMPLE_WINDOW_NS),
        "window_end_ns": min(_MAX_NS, at_ns + SAMPLE_WINDOW_NS),
    }
    branches = [_sample_branch(spans, "candidate", "to_version", before=False)]
    if from_version is not None:
        params["from_version"] = from_version
        branches.insert(0, _sample_branch(spans, "baseline", "from_version", before=True))
    sample = "WITH sample AS (\n    SELECT * FROM (\n    " + "\n    UNION ALL\n    ".join(branches) + "\n))\n"
    events = qualified_table(transport, database, "guardrail_events")
    rows = transport.query(
        sample + "SELECT side, count() AS spans,\n"
        f"    {_LATENCY.format(fn='quantileExactInclusive', q='0.95')} AS latency_ms_p95,\n"
        "    avg(cost) AS cost_usd_mean, avg(is_error) AS error_rate,\n"
        f"    avg({_hit(events, 'sample')}) AS guardrail_hit_rate\n"
        "FROM sample GROUP BY side",
        params,
    )
    scores = _score_map(
        transport.query(
            sample + _scores_sql(qualified_table(transport, database, "scores"), "sample", "side"), params
        )
    )
    found = {
        str(r["side"]): SpanSample(
            spans=int(r["spans"]),
            latency_ms_p95=_float(r["latency_ms_p95"]),
            cost_usd_mean=_float(r["cost_usd_mean"]),
            error_rate=_float(r["error_rate"]),
            guardrail_hit_rate=_float(r["guardrail_hit_rate"]),
            score_averages=scores.get(str(r["side"]), {}),
        )
        for r in rows
    }
    return found.get("baseline", SpanSample()), found.get("candidate", SpanSample())
