"""Migrations against real chDB: idempotent, versioned, TTL follows retention."""

from __future__ import annotations

import dataclasses
import time

from otelguard.storage.clickhouse import MIGRATIONS, ClickHouseTransport, Retention, migrate
from otelguard.storage.clickhouse.ddl import SPANS, create_table, parse_ttl_days

ALL_IDS = [m.id for m in MIGRATIONS]


def _tables(t: ClickHouseTransport) -> dict[str, str]:
    rows = t.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String}", {"db": t.database}
    )
    return {r["name"]: r["engine_full"] for r in rows}


def _ttl(t: ClickHouseTransport) -> dict[str, int | None]:
    return {
        name: parse_ttl_days(engine)
        for name, engine in _tables(t).items()
        if name in ("spans", "traces", "scores", "guardrail_events", "trace_index")
    }


def test_migrate_twice_is_idempotent(fresh_db: ClickHouseTransport) -> None:
    assert migrate(fresh_db) == ALL_IDS
    assert migrate(fresh_db) == []
    assert set(_tables(fresh_db)) == {
        "schema_migrations",
        "spans",
        "traces",
        "traces_mv",
        "scores",
        "guardrail_events",
        "trace_index",
        "trace_index_mv",
    }
    rows = fresh_db.query(f"SELECT id FROM {fresh_db.database}.schema_migrations FINAL ORDER BY id")
    assert [r["id"] for r in rows] == ALL_IDS
    assert _ttl(fresh_db) == {"spans": 0, "traces": 0, "scores": 0, "guardrail_events": 0, "trace_index": 0}


def test_partially_applied_migration_is_rerun(fresh_db: ClickHouseTransport) -> None:
    migrate(fresh_db)
    # Simulate a crash after 0003's statements but before its schema_migrations row.
    fresh_db.command(f"ALTER TABLE {fresh_db.database}.schema_migrations DELETE WHERE id = '0003_scores'")
    assert migrate(fresh_db) == ["0003_scores"]
    assert migrate(fresh_db) == []


def test_retention_creates_and_then_changes_ttl(fresh_db: ClickHouseTransport) -> None:
    assert migrate(fresh_db, retention=Retention(30, 90, 14)) == ALL_IDS
    assert _ttl(fresh_db) == {
        "spans": 30,
        "traces": 30,
        "scores": 90,
        "guardrail_events": 14,
        "trace_index": 30,
    }
    assert "TTL toDateTime(start_time) + toIntervalDay(30)" in _tables(fresh_db)["spans"]

    assert migrate(fresh_db, retention=Retention(30, 90, 14)) == []  # unchanged → nothing re-applied

    assert migrate(fresh_db, retention=Retention(7, 90, 14)) == [
        "ttl:spans=7d",
        "ttl:traces=7d",
        "ttl:trace_index=7d",
    ]
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 90, "guardrail_events": 14, "trace_index": 7}

    assert migrate(fresh_db, retention=Retention(7, 0, 1)) == ["ttl:scores=0d", "ttl:guardrail_events=1d"]
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 0, "guardrail_events": 1, "trace_index": 7}

    assert migrate(fresh_db) == []  # no retention given: TTLs are left alone
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 0, "guardrail_events": 1, "trace_index": 7}

    assert migrate(fresh_db, retention=Retention()) == [
        "ttl:spans=0d",
        "ttl:traces=0d",
        "ttl:guardrail_events=0d",
        "ttl:trace_index=0d",
    ]
    assert _ttl(fresh_db) == {"spans": 0, "traces": 0, "scores": 0, "guardrail_events": 0, "trace_index": 0}


def test_ttl_drops_expired_partitions(fresh_db: ClickHouseTransport) -> None:
    from ch_factories import span

    from otelguard.storage.clickhouse import insert_spans

    migrate(fresh_db, retention=Retention(spans_days=1))
    old = span(trace_id="f" * 32, start_time=1_000_000_000 * 10**9, end_time=1_000_000_001 * 10**9)  # 2001
    insert_spans(fresh_db, [old, span()])
    fresh_db.command(f"OPTIMIZE TABLE {fresh_db.database}.spans FINAL")
    rows = fresh_db.query(f"SELECT trace_id FROM {fresh_db.database}.spans")
    assert [r["trace_id"] for r in rows] == [span().trace_id]


def test_trace_index_is_backfilled_on_upgrade(fresh_db: ClickHouseTransport) -> None:
    """An installation from before 0005: its traces get an index entry, and the trace reads by id."""
    from ch_factories import span

    from otelguard.storage.clickhouse import get_trace, insert_spans

    db = fresh_db.database
    migrate(fresh_db)
    fresh_db.command(f"DROP TABLE {db}.trace_index_mv")
    fresh_db.command(f"DROP TABLE {db}.trace_index")
    fresh_db.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE id = '0005_trace_index'")
    old = span(
        trace_id="e" * 32, span_id="1" * 16, start_time=1_700_000_000 * 10**9, end_time=1_700_000_001 * 10**9
    )
    insert_spans(fresh_db, [old])  # stored before the upgrade: only in spans and traces
    assert migrate(fresh_db) == ["0005_trace_index"]
    rows = fresh_db.query(
        f"SELECT trace_id, toUnixTimestamp64Nano(min(start_time)) AS lo FROM {db}.trace_index "
        "GROUP BY trace_id"
    )
    assert rows == [{"trace_id": "e" * 32, "lo": old.start_time}]
    detail = get_trace(fresh_db, old.project_id, "e" * 32)
    assert detail is not None and [s.span_id for s in detail.spans] == ["1" * 16]

    # Re-running the backfill (a crash before the migration's row was written) changes no bounds.
    fresh_db.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE id = '0005_trace_index'")
    assert migrate(fresh_db) == ["0005_trace_index"]
    fresh_db.command(f"OPTIMIZE TABLE {db}.trace_index FINAL")
    assert fresh_db.query(f"SELECT count() AS n FROM {db}.trace_index")[0]["n"] == 1
    assert get_trace(fresh_db, old.project_id, "e" * 32) is not None


def _as_before_0006(t: ClickHouseTransport, *, spans_days: int) -> None:
    """Turn a migrated database into one from before 0006: ``spans`` with ClickHouse's default granularity."""
    db = t.database
    old = dataclasses.replace(SPANS, name="spans_old", settings=(("ttl_only_drop_parts", "1"),))
    for statement in create_table(old, database=db, retention=Retention(spans_days=spans_days), cluster=None):
        t.command(statement)
    t.command(f"EXCHANGE TABLES {db}.spans AND {db}.spans_old")
    t.command(f"DROP TABLE {db}.spans_old SYNC")
    t.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE id = '0006_spans_granularity'")


def test_spans_are_rebuilt_with_the_smaller_granularity_on_upgrade(fresh_db: ClickHouseTransport) -> None:
    """An installation from before 0006 gets its spans copied into a table with granularity 1024; every
    read answers as before, the TTL is kept, and the materialized views still feed on new spans."""
    from ch_factories import llm_span

    from otelguard.storage.clickhouse import TraceQuery, get_trace, insert_spans, query_traces
    from otelguard.storage.clickhouse.rebuild import index_granularity

    db = fresh_db.database
    migrate(fresh_db)
    assert index_granularity(_tables(fresh_db)["spans"]) == 1024  # new installs get it from 0001
    _as_before_0006(fresh_db, spans_days=30)
    assert index_granularity(_tables(fresh_db)["spans"]) == 8192
    t0 = (time.time_ns() // 10**9 - 3600) * 10**9  # within the 30 days the TTL keeps
    spans = [
        llm_span(f"{i:032x}", f"{i * 10 + j:016x}", f"{i * 10:016x}" if j else "", t0 + i * 10**9 + j * 10**6)
        for i in range(1, 40)
        for j in range(3)
    ]
    insert_spans(fresh_db, spans[:60])
    insert_spans(fresh_db, spans[60:])
    project = spans[0].project_id
    page = query_traces(fresh_db, project, TraceQuery(), limit=1000)
    details = [get_trace(fresh_db, project, f"{i:032x}") for i in range(1, 40)]
    count = fresh_db.query(f"SELECT count() AS n FROM {db}.spans")[0]["n"]
    assert len(page.items) == 39 and count == len(spans)

    assert migrate(fresh_db) == ["0006_spans_granularity"]
    tables = _tables(fresh_db)
    assert index_granularity(tables["spans"]) == 1024
    assert parse_ttl_days(tables["spans"]) == 30
    assert "spans_0006" not in tables  # the old copy is gone
    assert fresh_db.query(f"SELECT count() AS n FROM {db}.spans")[0]["n"] == count
    assert query_traces(fresh_db, project, TraceQuery(), limit=1000) == page
    assert [get_trace(fresh_db, project, f"{i:032x}") for i in range(1, 40)] == details

    # The views follow the name: a span stored now reaches traces and trace_index once, not twice.
    late = llm_span("f" * 32, "f" * 16, "", t0 + 100 * 10**9)
    insert_spans(fresh_db, [late])
    detail = get_trace(fresh_db, project, "f" * 32)
    assert detail is not None and detail.span_count == 1
    newest = query_traces(fresh_db, project, TraceQuery(), limit=1).items[0]
    assert (newest.trace_id, newest.span_count) == ("f" * 32, 1)

    # Re-running the migration (a crash before its row was written) finds nothing left to rebuild.
    fresh_db.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE id = '0006_spans_granularity'")
    assert migrate(fresh_db) == ["0006_spans_granularity"]
    assert fresh_db.query(f"SELECT count() AS n FROM {db}.spans")[0]["n"] == count + 1


def test_spans_rebuild_resumes_after_a_crash_mid_copy(fresh_db: ClickHouseTransport) -> None:
    """A copy left behind by an interrupted rebuild is dropped and made again, not added to."""
    from ch_factories import span

    from otelguard.storage.clickhouse import insert_spans

    db = fresh_db.database
    migrate(fresh_db)
    _as_before_0006(fresh_db, spans_days=0)
    insert_spans(fresh_db, [span(trace_id="a" * 32, span_id="1" * 16)])
    leftover = dataclasses.replace(SPANS, name="spans_0006")
    for statement in create_table(leftover, database=db, retention=Retention(), cluster=None):
        fresh_db.command(statement)
    fresh_db.command(f"INSERT INTO {db}.spans_0006 SELECT * FROM {db}.spans")
    assert migrate(fresh_db) == ["0006_spans_granularity"]
    rows = fresh_db.query(f"SELECT trace_id FROM {db}.spans")
    assert [r["trace_id"] for r in rows] == ["a" * 32]
    assert parse_ttl_days(_tables(fresh_db)["spans"]) == 0


def test_spans_inserted_during_the_rebuild_are_kept(fresh_db: ClickHouseTransport) -> None:
    """Collectors keep writing while an external server migrates: spans stored after the tee exists —
    before the copy's snapshot, after it, and after the exchange — are all in the new table, once each, and
    the traces they feed are counted once."""
    from ch_factories import span

    from otelguard.storage.clickhouse import get_trace, insert_spans
    from otelguard.storage.clickhouse.rebuild import index_granularity, rebuild_plan

    db = fresh_db.database
    migrate(fresh_db)
    _as_before_0006(fresh_db, spans_days=0)

    def put(n: int) -> None:
        insert_spans(fresh_db, [span(trace_id=f"{n:032x}", span_id=f"{n:016x}")])

    put(1)  # before the rebuild
    plan = rebuild_plan(SPANS, database=db, retention=Retention(), cluster=None, copy_name="spans_0006")
    for statement in plan.prepare:
        fresh_db.command(statement)
    put(2)  # the tee exists, the snapshot not yet taken: it reaches the copy twice (tee + snapshot)
    fresh_db.command(plan.copy)
    put(3)  # after the snapshot: only the tee carries it
    fresh_db.command(plan.exchange)
    put(4)  # after the exchange: straight into the new table
    for statement in plan.drop:
        fresh_db.command(statement)

    assert index_granularity(_tables(fresh_db)["spans"]) == 1024
    rows = fresh_db.query(f"SELECT trace_id, count() AS n FROM {db}.spans FINAL GROUP BY trace_id ORDER BY 1")
    assert [(r["trace_id"], r["n"]) for r in rows] == [(f"{n:032x}", 1) for n in (1, 2, 3, 4)]
    for n in (1, 2, 3, 4):  # the views fired once per insert, never for the copy
        detail = get_trace(fresh_db, span(trace_id="x" * 32, span_id="y" * 16).project_id, f"{n:032x}")
        assert detail is not None and detail.span_count == 1
