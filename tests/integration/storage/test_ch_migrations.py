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
        if name in ("spans", "traces", "scores", "guardrail_events")
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
    }
    rows = fresh_db.query(f"SELECT id FROM {fresh_db.database}.schema_migrations FINAL ORDER BY id")
    assert [r["id"] for r in rows] == ALL_IDS
    assert _ttl(fresh_db) == {"spans": 0, "traces": 0, "scores": 0, "guardrail_events": 0}


def test_partially_applied_migration_is_rerun(fresh_db: ClickHouseTransport) -> None:
    migrate(fresh_db)
    # Simulate a crash after 0003's statements but before its schema_migrations row.
    fresh_db.command(f"ALTER TABLE {fresh_db.database}.schema_migrations DELETE WHERE id = '0003_scores'")
    assert migrate(fresh_db) == ["0003_scores"]
    assert migrate(fresh_db) == []


def test_retention_creates_and_then_changes_ttl(fresh_db: ClickHouseTransport) -> None:
    assert migrate(fresh_db, retention=Retention(30, 90, 14)) == ALL_IDS
    assert _ttl(fresh_db) == {"spans": 30, "traces": 30, "scores": 90, "guardrail_events": 14}
    assert "TTL toDateTime(start_time) + toIntervalDay(30)" in _tables(fresh_db)["spans"]

    assert migrate(fresh_db, retention=Retention(30, 90, 14)) == []  # unchanged → nothing re-applied

    assert migrate(fresh_db, retention=Retention(7, 90, 14)) == ["ttl:spans=7d", "ttl:traces=7d"]
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 90, "guardrail_events": 14}

    assert migrate(fresh_db, retention=Retention(7, 0, 1)) == ["ttl:scores=0d", "ttl:guardrail_events=1d"]
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 0, "guardrail_events": 1}

    assert migrate(fresh_db) == []  # no retention given: TTLs are left alone
    assert _ttl(fresh_db) == {"spans": 7, "traces": 7, "scores": 0, "guardrail_events": 1}

    assert migrate(fresh_db, retention=Retention()) == [
        "ttl:spans=0d",
        "ttl:traces=0d",
        "ttl:guardrail_events=0d",
    ]
    assert _ttl(fresh_db) == {"spans": 0, "traces": 0, "scores": 0, "guardrail_events": 0}


def test_ttl_drops_expired_partitions(fresh_db: ClickHouseTransport) -> None:
    from ch_factories import span

    from otelguard.storage.clickhouse import insert_spans

    migrate(fresh_db, retention=Retention(spans_days=1))
    old = span(trace_id="f" * 32, start_time=1_000_000_000 * 10**9, end_time=1_000_000_001 * 10**9)  # 2001
    insert_spans(fresh_db, [old, span()])
    fresh_db.command(f"OPTIMIZE TABLE {fresh_db.database}.spans FINAL")
    rows = fresh_db.query(f"SELECT trace_id FROM {fresh_db.database}.spans")
    assert [r["trace_id"] for r in rows] == [span().trace_id]
