"""OTelGuard's storage step on chDB and Postgres: DDL once, TTLs from retention, quiet when up to date."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from otelguard.controllers import CONTROLLERS, Applied, apply_clickhouse, apply_storage
from otelguard.storage.clickhouse import ClickHouseError, Retention
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.postgres import Database
from unit.controllers.ctl_support import T0, T1, edited, make_input, manifest, ready


def ttl_days(transport: ChdbTransport) -> dict[str, str]:
    rows = transport.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN "
        "('spans', 'scores', 'guardrail_events')",
        {"db": transport.database},
    )
    return {str(r["name"]): str(r["engine_full"]).split(" TTL ", 1)[1].split(" SETTINGS")[0] for r in rows}


def test_storage_step_applies_once_then_only_ttl_changes(chdb: ChdbTransport, db: Database) -> None:
    obj = manifest("otelguard")
    inp = make_input(obj)
    controller = CONTROLLERS["OTelGuard"]
    desired = controller.plan(inp)
    assert desired.storage is not None
    outcome = apply_storage(desired.storage, chdb, db)
    assert outcome.ok and outcome.writes >= 6 and outcome.schema_version == 6
    status = controller.status(inp, desired, Applied(storage=outcome))
    assert ready(status)[0] == "True" and status["schemaVersion"] == 6
    assert "toIntervalDay(180)" in ttl_days(chdb)["guardrail_events"]

    again = apply_storage(desired.storage, chdb, db)
    assert (again.ok, again.writes) == (True, 0)
    assert (
        controller.status(make_input(obj, status=status, now=T1), desired, Applied(storage=again)) == status
    )

    shorter = edited(obj, "spec.retention.spans", 7)
    desired7 = controller.plan(make_input(shorter))
    assert desired7.storage is not None
    changed = apply_storage(desired7.storage, chdb, db)
    assert (changed.ok, changed.writes) == (True, 3)  # TTL of spans, traces and trace_index
    assert "toIntervalDay(7)" in ttl_days(chdb)["spans"]


def test_apply_clickhouse_reports_what_it_did(chdb: ChdbTransport) -> None:
    first = apply_clickhouse(chdb, Retention(spans_days=30, scores_days=90, guardrail_events_days=90))
    assert first[:5] == [
        "0001_spans",
        "0002_traces",
        "0003_scores",
        "0004_guardrail_events",
        "0005_trace_index",
    ]
    assert apply_clickhouse(chdb, Retention(spans_days=30, scores_days=90, guardrail_events_days=90)) == []


class _Down:
    """A transport whose server is unreachable."""

    database = "otelguard"

    def command(self, sql: str, params: Any = None) -> None:
        raise ClickHouseError("cannot reach http://clickhouse:8123: connection refused")

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        raise ClickHouseError("unreachable")

    def close(self) -> None:
        pass


def test_unreachable_clickhouse_is_storage_unavailable() -> None:
    obj = manifest("otelguard")
    inp = make_input(obj, now=T0)
    controller = CONTROLLERS["OTelGuard"]
    desired = controller.plan(inp)
    assert desired.storage is not None
    outcome = apply_storage(desired.storage, _Down())  # type: ignore[arg-type]
    assert not outcome.ok
    status = controller.status(inp, desired, replace(Applied(), storage=outcome))
    assert ready(status) == (
        "False",
        "StorageUnavailable",
        "cannot reach http://clickhouse:8123: connection refused",
    )
