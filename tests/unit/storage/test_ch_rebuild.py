"""The statements that rebuild ``spans`` (migration 0006), for a single node and for a cluster."""

from __future__ import annotations

import pytest

from otelguard.storage.clickhouse import Retention, render_ddl
from otelguard.storage.clickhouse.ddl import SPANS
from otelguard.storage.clickhouse.rebuild import index_granularity, rebuild_plan

PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def test_new_spans_tables_get_granularity_1024() -> None:
    for cluster in (None, "prod"):
        spans = [s for s in render_ddl(database="og", retention=Retention(), cluster=cluster) if "spans" in s]
        physical = spans[0]
        assert physical.startswith(
            f"CREATE TABLE IF NOT EXISTS `og`.`{'spans_local' if cluster else 'spans'}`"
        )
        assert physical.endswith("ttl_only_drop_parts = 1, index_granularity = 1024")


def test_index_granularity_of_engine_full() -> None:
    engine = "ReplacingMergeTree(ingested_at) ORDER BY (a) SETTINGS index_granularity = 1024, x = 1"
    assert index_granularity(engine) == 1024
    assert index_granularity("MergeTree ORDER BY a SETTINGS min_index_granularity_bytes = 10") == 8192
    assert index_granularity("MergeTree ORDER BY a") == 8192


def test_single_node_rebuild_plan() -> None:
    plan = rebuild_plan(
        SPANS, database="og", retention=Retention(spans_days=30), cluster=None, copy_name="spans_0006"
    )
    assert plan.prepare[:2] == [
        "DROP VIEW IF EXISTS `og`.`spans_0006_tee` SYNC",
        "DROP TABLE IF EXISTS `og`.`spans_0006` SYNC",
    ]
    create = plan.prepare[2]
    assert create.startswith("CREATE TABLE IF NOT EXISTS `og`.`spans_0006`")
    assert "ENGINE = ReplacingMergeTree(ingested_at)" in create
    assert "ORDER BY (project_id, toStartOfHour(start_time), trace_id, span_id)" in create
    assert "TTL toDateTime(start_time) + INTERVAL 30 DAY" in create
    assert "index_granularity = 1024" in create and "INDEX idx_input input" in create
    assert len(plan.prepare) == 4
    # inserts during the rebuild are mirrored into the copy by a view, so none is lost
    assert plan.prepare[3].startswith(
        "CREATE MATERIALIZED VIEW `og`.`spans_0006_tee`\nTO `og`.`spans_0006`\n"
    )
    assert plan.prepare[3].endswith("`events`, `ingested_at` FROM `og`.`spans`")
    # every column named, in the table's order, on both sides
    assert plan.copy.startswith("INSERT INTO `og`.`spans_0006` (`project_id`, `trace_id`, `span_id`")
    assert "`events`, `ingested_at`)\nSELECT `project_id`, " in plan.copy
    assert plan.copy.endswith("FROM `og`.`spans`\nSETTINGS insert_deduplicate = 0")
    assert plan.exchange == "EXCHANGE TABLES `og`.`spans` AND `og`.`spans_0006`"
    assert plan.drop == plan.prepare[:2]
    assert not any("ON CLUSTER" in s for s in [*plan.prepare, plan.copy, plan.exchange, *plan.drop])


def test_cluster_rebuild_plan() -> None:
    plan = rebuild_plan(SPANS, database="og", retention=Retention(), cluster="prod", copy_name="spans_0006")
    assert plan.prepare[:3] == [
        "DROP VIEW IF EXISTS `og`.`spans_0006_tee` ON CLUSTER `prod` SYNC",
        "DROP TABLE IF EXISTS `og`.`spans_0006` ON CLUSTER `prod` SYNC",
        "DROP TABLE IF EXISTS `og`.`spans_0006_local` ON CLUSTER `prod` SYNC",
    ]
    local, distributed, tee = plan.prepare[3:]
    # on every node, between the physical tables (each row stays on its shard)
    assert tee.startswith(
        "CREATE MATERIALIZED VIEW `og`.`spans_0006_tee` ON CLUSTER `prod`\nTO `og`.`spans_0006_local`\n"
    )
    assert tee.endswith("FROM `og`.`spans_local`")
    assert local.startswith("CREATE TABLE IF NOT EXISTS `og`.`spans_0006_local` ON CLUSTER `prod`")
    assert f"ENGINE = ReplicatedReplacingMergeTree({PATH}, ingested_at)" in local
    assert "replicated_deduplication_window = 10000" in local and "index_granularity = 1024" in local
    assert "TTL" not in local  # retention 0: kept forever, like the table it replaces
    assert distributed.endswith(
        "ENGINE = Distributed('prod', 'og', 'spans_0006_local', cityHash64(trace_id))"
    )
    # rows go through the Distributed tables (same sharding key), synchronously
    assert "INSERT INTO `og`.`spans_0006` (" in plan.copy and "FROM `og`.`spans`\n" in plan.copy
    assert plan.copy.endswith("SETTINGS insert_deduplicate = 0, distributed_foreground_insert = 1")
    # the physical tables trade names on every node; the Distributed `spans` keeps pointing at spans_local
    assert plan.exchange == "EXCHANGE TABLES `og`.`spans_local` AND `og`.`spans_0006_local` ON CLUSTER `prod`"
    assert plan.drop == plan.prepare[:3]


@pytest.mark.parametrize(
    ("database", "copy_name", "cluster"), [("og;", "c", None), ("og", "c d", None), ("og", "c", "a b")]
)
def test_rebuild_plan_rejects_bad_names(database: str, copy_name: str, cluster: str | None) -> None:
    with pytest.raises(ValueError):
        rebuild_plan(SPANS, database=database, retention=Retention(), cluster=cluster, copy_name=copy_name)
