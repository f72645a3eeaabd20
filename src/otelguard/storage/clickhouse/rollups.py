"""Per-session and per-user listings: the ``traces`` aggregate rows rolled up first per trace, then per
session or user. Keyset-paginated on (sort value, id) like the trace list; whitelisted sorts only.

Traces are selected by their start in [start_ns, end_ns) (rows pruned with a day of slack, see
``traces.py``). Without a time range the whole project's traces are read: the API always sends one.
"""

from __future__ import annotations

from typing import Any

from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.models import (
    SessionFilter,
    SessionPage,
    SessionSummary,
    UserActivityPoint,
    UserFilter,
    UserPage,
    UserSummary,
)
from otelguard.storage.clickhouse.traces import MAX_LIMIT, START_SLACK_NS, qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = [
    "MAX_BUCKETS",
    "get_session_summary",
    "get_user_summary",
    "list_sessions",
    "list_users",
    "user_activity",
]

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"
_MAX_NS = 2**63 - 1
MAX_BUCKETS = 5000
_BUCKETS = {"1h": ("INTERVAL 1 HOUR", 3600 * 10**9), "1d": ("INTERVAL 1 DAY", 86400 * 10**9)}

# One row per trace, with names that no outer alias reuses.
_PER_TRACE = """SELECT
        t.trace_id AS tid,
        min(t.start_time) AS st,
        max(t.end_time) AS et,
        max(t.session_id) AS sid,
        max(t.user_id) AS uid,
        sum(t.total_cost) AS cost,
        sum(toDecimal128(if(isFinite(t.total_cost), t.total_cost, 0), 12)) AS cost_dec,
        sum(t.input_tokens) AS itok,
        sum(t.output_tokens) AS otok,
        sum(t.total_tokens) AS ttok,
        sum(t.error_count) AS errs
    FROM {traces} AS t
    WHERE t.project_id = {{project_id:String}}{where}
    GROUP BY t.trace_id
    HAVING {having}"""

_SESSION_SORTS: dict[str, tuple[str, str]] = {
    "last_time": ("toUnixTimestamp64Nano(max(et))", "Int64"),
    "first_time": ("toUnixTimestamp64Nano(min(st))", "Int64"),
    "trace_count": ("count()", "UInt64"),
    "duration": ("toUnixTimestamp64Nano(max(et)) - toUnixTimestamp64Nano(min(st))", "Int64"),
    "cost": ("sum(cost_dec)", "Decimal128(12)"),
    "total_tokens": ("sum(ttok)", "UInt64"),
    "session_id": ("sid", "String"),
}
_USER_SORTS: dict[str, tuple[str, str]] = {
    "last_seen": ("toUnixTimestamp64Nano(max(st))", "Int64"),
    "first_seen": ("toUnixTimestamp64Nano(min(st))", "Int64"),
    "trace_count": ("count()", "UInt64"),
    "cost": ("sum(cost_dec)", "Decimal128(12)"),
    "total_tokens": ("sum(ttok)", "UInt64"),
    "error_count": ("countIf(errs > 0)", "UInt64"),
    "user_id": ("uid", "String"),
}


def _per_trace(
    transport: ClickHouseTransport,
    database: str | None,
    params: dict[str, Any],
    start_ns: int | None,
    end_ns: int | None,
    having: list[str],
    where: list[str] | None = None,
) -> str:
    where = list(where or [])
    having = list(having)
    if start_ns is not None:
        params["start_ns"], params["start_floor_ns"] = start_ns, max(0, start_ns - START_SLACK_NS)
        where.append(f"t.start_time >= {_NS % 'start_floor_ns'}")
        having.append(f"st >= {_NS % 'start_ns'}")
    if end_ns is not None:
        params["end_ns"], params["end_ceil_ns"] = end_ns, min(_MAX_NS, end_ns + START_SLACK_NS)
        where.append(f"t.start_time < {_NS % 'end_ceil_ns'}")
        having.append(f"st < {_NS % 'end_ns'}")
    return _PER_TRACE.format(
        traces=qualified_table(transport, database, "traces"),
        where="".join(f"\n      AND {w}" for w in where),
        having=" AND ".join(having) or "1",
    )


def _keyset(
    scope: str,
    sorts: dict[str, tuple[str, str]],
    sort: str,
    order: str,
    id_col: str,
    cursor: str | None,
    params: dict[str, Any],
) -> str:
    expr, ch_type = sorts[sort]
    if cursor is None:
        return "1"
    value, last_id = decode_keyset(cursor, scope=scope, sort=sort, order=order, ties=1)
    params["cursor_value"], params["cursor_id"] = check_value(value, ch_type), last_id
    cmp = "<" if order == "desc" else ">"
    return f"({expr}, {id_col}) {cmp} ({{cursor_value:{ch_type}}}, {{cursor_id:String}})"


_SESSION_COLUMNS = """
    sid AS session_id,
    count() AS trace_count,
    toUnixTimestamp64Nano(min(st)) AS first_ns,
    toUnixTimestamp64Nano(max(et)) AS last_ns,
    sum(cost) AS total_cost,
    sum(itok) AS input_tokens,
    sum(otok) AS output_tokens,
    sum(ttok) AS total_tokens,
    sum(errs) AS error_count,
    uniqExactIf(uid, uid != '') AS user_count_raw,
    arraySort(groupUniqArray(20)(uid)) AS user_list"""


def list_sessions(
    transport: ClickHouseTransport,
    project_id: str,
    flt: SessionFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> SessionPage:
    """Sessions with a trace in the time range, with totals over those traces; InvalidCursor if bad."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    inner = _per_trace(transport, database, params, flt.start_ns, flt.end_ns, ["sid != ''"])
    having = [_keyset("sessions", _SESSION_SORTS, flt.sort, flt.order, "sid", cursor, params)]
    if flt.user_id is not None:
        params["user_id"] = flt.user_id
        having.append("has(groupUniqArray(uid), {user_id:String})")
    expr = _SESSION_SORTS[flt.sort][0]
    direction = "DESC" if flt.order == "desc" else "ASC"
    rows = transport.query(
        f"SELECT{_SESSION_COLUMNS},\n    toString({expr}) AS sort_value\nFROM (\n    {inner}\n)\n"
        f"GROUP BY sid\nHAVING {' AND '.join(having)}\nORDER BY {expr} {direction}, sid {direction}\n"
        "LIMIT {limit:UInt32}",
        params,
    )
    items = [_session(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_keyset("sessions", flt.sort, flt.order, last["sort_value"], last["session_id"])
    return SessionPage(items=items, next_cursor=next_cursor)


def _by_id_where(
    transport: ClickHouseTransport, database: str | None, column: str, params: dict[str, Any]
) -> list[str]:
    """Prefilter trace rows through the spans table's bloom filter on ``column`` (session_id/user_id)."""
    spans = qualified_table(transport, database, "spans")
    return [
        f"t.trace_id GLOBAL IN (SELECT trace_id FROM {spans} WHERE project_id = {{project_id:String}}"
        f" AND {column} = {{{column}:String}})"
    ]


def get_session_summary(
    transport: ClickHouseTransport, project_id: str, session_id: str, *, database: str | None = None
) -> SessionSummary | None:
    """The session's totals over all its traces, or None if the project has no such session."""
    params: dict[str, Any] = {"project_id": project_id, "session_id": session_id}
    where = _by_id_where(transport, database, "session_id", params)
    inner = _per_trace(transport, database, params, None, None, ["sid = {session_id:String}"], where)
    rows = transport.query(f"SELECT{_SESSION_COLUMNS}\nFROM (\n    {inner}\n)\nGROUP BY sid", params)
    return _session(rows[0]) if rows else None


def _session(row: dict[str, Any]) -> SessionSummary:
    first, last = int(row["first_ns"]), int(row["last_ns"])
    users = [u for u in row["user_list"] if u]
    return SessionSummary(
        session_id=row["session_id"],
        trace_count=row["trace_count"],
        first_time=first,
        last_time=last,
        duration_ms=max(0, last - first) / 1e6,
        total_cost=float(row["total_cost"] or 0.0),
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        total_tokens=row["total_tokens"],
        error_count=row["error_count"],
        user_count=max(0, int(row["user_count_raw"])),
        user_ids=users,
    )


_USER_COLUMNS = """
    uid AS user_id,
    count() AS trace_count,
    uniqExactIf(sid, sid != '') AS session_count_raw,
    toUnixTimestamp64Nano(min(st)) AS first_ns,
    toUnixTimestamp64Nano(max(st)) AS last_ns,
    sum(cost) AS total_cost,
    sum(itok) AS input_tokens,
    sum(otok) AS output_tokens,
    sum(ttok) AS total_tokens,
    countIf(errs > 0) AS error_traces,
    sum(hits) AS guardrail_hits"""


def _user_source(transport: ClickHouseTransport, database: str | None, inner: str) -> str:
    events = qualified_table(transport, database, "guardrail_events")
    return (
        f"(\n    {inner}\n) AS tr\nLEFT JOIN (\n"
        f"    SELECT trace_id AS gtid, toUInt64(count()) AS hits FROM {events}\n"
        "    WHERE project_id = {project_id:String} GROUP BY trace_id\n) AS g ON tr.tid = g.gtid"
    )


def list_users(
    transport: ClickHouseTransport,
    project_id: str,
    flt: UserFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> UserPage:
    """Users with a trace in the time range, with totals over those traces; InvalidCursor if bad."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    inner = _per_trace(transport, database, params, flt.start_ns, flt.end_ns, ["uid != ''"])
    having = _keyset("users", _USER_SORTS, flt.sort, flt.order, "uid", cursor, params)
    expr = _USER_SORTS[flt.sort][0]
    direction = "DESC" if flt.order == "desc" else "ASC"
    rows = transport.query(
        f"SELECT{_USER_COLUMNS},\n    toString({expr}) AS sort_value\n"
        f"FROM {_user_source(transport, database, inner)}\n"
        f"GROUP BY uid\nHAVING {having}\nORDER BY {expr} {direction}, uid {direction}\n"
        "LIMIT {limit:UInt32}",
        params,
    )
    items = [_user(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_keyset("users", flt.sort, flt.order, last["sort_value"], last["user_id"])
    return UserPage(items=items, next_cursor=next_cursor)


def get_user_summary(
    transport: ClickHouseTransport,
    project_id: str,
    user_id: str,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    database: str | None = None,
) -> UserSummary | None:
    """The user's totals over its traces in the time range, or None if there are none."""
    params: dict[str, Any] = {"project_id": project_id, "user_id": user_id}
    where = _by_id_where(transport, database, "user_id", params)
    inner = _per_trace(transport, database, params, start_ns, end_ns, ["uid = {user_id:String}"], where)
    rows = transport.query(
        f"SELECT{_USER_COLUMNS}\nFROM {_user_source(transport, database, inner)}\nGROUP BY uid", params
    )
    return _user(rows[0]) if rows else None


def user_activity(
    transport: ClickHouseTransport,
    project_id: str,
    user_id: str,
    *,
    bucket: str,
    start_ns: int,
    end_ns: int,
    database: str | None = None,
) -> list[UserActivityPoint]:
    """The user's traces per hour or day (by trace start) in [start_ns, end_ns); empty buckets omitted.
    ValueError for an unknown bucket or a range of more than ``MAX_BUCKETS`` buckets."""
    if bucket not in _BUCKETS:
        raise ValueError(f"bucket must be one of {sorted(_BUCKETS)}")
    interval, width = _BUCKETS[bucket]
    if not 0 <= start_ns <= end_ns or (end_ns - start_ns) // width > MAX_BUCKETS:
        raise ValueError(f"the time range must be ordered and span at most {MAX_BUCKETS} buckets")
    params: dict[str, Any] = {"project_id": project_id, "user_id": user_id}
    where = _by_id_where(transport, database, "user_id", params)
    inner = _per_trace(transport, database, params, start_ns, end_ns, ["uid = {user_id:String}"], where)
    rows = transport.query(
        "SELECT toInt64(toUnixTimestamp(toStartOfInterval(toDateTime(st), "
        f"{interval}))) * 1000000000 AS bucket_ns,\n"
        "    count() AS trace_count, sum(cost) AS total_cost, sum(ttok) AS total_tokens,\n"
        "    countIf(errs > 0) AS error_count\n"
        f"FROM (\n    {inner}\n)\nGROUP BY bucket_ns\nORDER BY bucket_ns",
        params,
    )
    return [
        UserActivityPoint(
            time=int(r["bucket_ns"]),
            trace_count=r["trace_count"],
            total_cost=float(r["total_cost"] or 0.0),
            total_tokens=r["total_tokens"],
            error_count=r["error_count"],
        )
        for r in rows
    ]


def _user(row: dict[str, Any]) -> UserSummary:
    count = int(row["trace_count"])
    return UserSummary(
        user_id=row["user_id"],
        trace_count=count,
        session_count=max(0, int(row["session_count_raw"])),
        total_cost=float(row["total_cost"] or 0.0),
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        total_tokens=row["total_tokens"],
        error_count=row["error_traces"],
        error_rate=row["error_traces"] / count if count else 0.0,
        guardrail_hits=int(row["guardrail_hits"] or 0),
        first_seen=int(row["first_ns"]),
        last_seen=int(row["last_ns"]),
    )
