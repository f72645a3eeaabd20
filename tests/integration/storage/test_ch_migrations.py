"""Migrations against real chDB: idempotent, versioned, TTL follows retention."""

from __future__ import annotations

from otelguard.storage.clickhouse import MIGRATIONS, ClickHouseTransport, Retention, migrate
from otelguard.storage.clickhouse.ddl import parse_ttl_days

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
