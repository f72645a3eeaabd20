"""A session's traces as conversation turns: each trace summary plus the user's message, the answer,
the first error and its guardrail hits, read in two bounded queries for a page of trace ids.

The turn's input is the root span's input, else the earliest span input (agent roots often carry none);
its output the root's output, else the latest-ending span output. Chat message lists are reduced to the
text a person reads: the *last* user message (earlier ones are history repeated every turn) and the
last output message; other payloads are shown as they are. Previews are capped at ``PREVIEW_CHARS``.
"""

from __future__ import annotations

import json
from typing import Any

from otelguard.storage.clickhouse.models import SessionTrace, TraceSummary
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = ["PREVIEW_CHARS", "message_preview", "session_traces"]

PREVIEW_CHARS = 2000
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"


def session_traces(
    transport: ClickHouseTransport,
    project_id: str,
    traces: list[TraceSummary],
    *,
    database: str | None = None,
) -> list[SessionTrace]:
    """``traces`` (one page of a session) with previews, error message and guardrail hit counts."""
    if not traces:
        return []
    params: dict[str, Any] = {
        "project_id": project_id,
        "trace_ids": [t.trace_id for t in traces],
        "lo": min(t.start_time for t in traces),
        "hi": max(max(t.end_time, t.start_time) for t in traces),
    }
    # Spans of these traces start within [first trace start, last trace end]: that prunes partitions.
    spans = transport.query(
        "SELECT trace_id,\n"
        "    argMinIf(input, (parent_span_id != '', start_time), input != '') AS turn_input,\n"
        "    argMaxIf(output, (parent_span_id = '', end_time), output != '') AS turn_output,\n"
        "    argMinIf(if(error_message != '', error_message, status_message), start_time,\n"
        "             status_code = 'error') AS first_error\n"
        f"FROM {qualified_table(transport, database, 'spans')}\n"
        "WHERE project_id = {project_id:String} AND trace_id IN {trace_ids:Array(String)}\n"
        f"  AND start_time >= {_NS % 'lo'} AND start_time <= {_NS % 'hi'}\n"
        "GROUP BY trace_id",
        params,
    )
    hits = transport.query(
        "SELECT trace_id, toUInt64(count()) AS hits\n"
        f"FROM {qualified_table(transport, database, 'guardrail_events')}\n"
        "WHERE project_id = {project_id:String} AND trace_id IN {trace_ids:Array(String)}\n"
        "GROUP BY trace_id",
        params,
    )
    by_trace = {row["trace_id"]: row for row in spans}
    hit_count = {row["trace_id"]: int(row["hits"]) for row in hits}
    out = []
    for t in traces:
        row = by_trace.get(t.trace_id, {})
        out.append(
            SessionTrace(
                **t.model_dump(),
                input_preview=message_preview(row.get("turn_input") or "", role="user"),
                output_preview=message_preview(row.get("turn_output") or "", role=None),
                error_message=_cap(row.get("first_error") or ""),
                guardrail_hits=hit_count.get(t.trace_id, 0),
            )
        )
    return out


def message_preview(text: str, *, role: str | None) -> str:
    """The readable text of a payload: for a chat message list, the last message with ``role`` (any role
    when None); JSON strings unwrapped; anything else as stored. Capped at ``PREVIEW_CHARS``."""
    try:
        value = json.loads(text)
    except ValueError:
        return _cap(text)
    if isinstance(value, str):
        return _cap(value)
    messages = _messages(value)
    if messages:
        picked = [m for m in messages if role is None or m.get("role") == role] or messages
        readable = _message_text(picked[-1])
        if readable:
            return _cap(readable)
    return _cap(text)


def _messages(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    elif isinstance(value, dict) and isinstance(value.get("role"), str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return None


def _message_text(message: dict[str, Any]) -> str:
    """Text parts joined by blank lines; tool calls as ``→ name(arguments)``."""
    parts: list[Any] = []
    for key in ("parts", "content"):
        item = message.get(key)
        parts.extend(item if isinstance(item, list) else [item] if item is not None else [])
    calls = message.get("tool_calls")
    parts.extend(calls if isinstance(calls, list) else [])
    texts = [t for t in (_part_text(p) for p in parts) if t]
    return "\n\n".join(texts)


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    inner = part.get("function")
    fn: dict[str, Any] = inner if isinstance(inner, dict) else part
    if part.get("type") in ("tool_call", "function_call", "tool_use", "function") or fn is not part:
        args = fn.get("arguments", fn.get("input", ""))
        args = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        return f"→ {fn.get('name', 'tool')}({args})"
    for key in ("content", "text"):
        if isinstance(part.get(key), str):
            return str(part[key])
    return ""


def _cap(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
