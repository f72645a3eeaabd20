"""The operator's side of Evaluator status: which Redis a namespace's counters live in, one client per
URL, the timer interval setting, the status fields the counters become, and reconcile leaving them alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otelguard.controllers import Applied
from otelguard.evals.stats import EvaluatorStats, status_fields
from otelguard.operator.main import STATS_INTERVAL_ENV, stats_interval
from otelguard.operator.reconcile import status_patch
from otelguard.operator.stores import NamespaceStores, StoreUnavailable, redis_url_of
from unit.controllers.ctl_support import T1, edited, manifest, ready, reconcile


def install(redis: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "otelguard", "namespace": "team-a"},
        "spec": {"storage": {"postgres": {"dsnSecretRef": {"name": "pg", "key": "dsn"}}, "redis": redis}},
    }


def no_secrets(name: str, key: str) -> str | None:
    raise AssertionError(f"no Secret should be read, got {name}/{key}")


# -- redis_url_of --------------------------------------------------------------------------------------------


def test_url_in_the_spec_is_used_as_is() -> None:
    url = redis_url_of("team-a", install({"url": "redis://redis.team-a.svc:6379/2"}), no_secrets)
    assert url == "redis://redis.team-a.svc:6379/2"


def test_url_from_the_secret_ref_is_read_from_that_secret_and_stripped() -> None:
    reads: list[tuple[str, str]] = []

    def read(name: str, key: str) -> str | None:
        reads.append((name, key))
        return {("redis", "url"): "rediss://:s3cret@redis.example:6380/0\n"}.get((name, key))

    url = redis_url_of("team-a", install({"urlSecretRef": {"name": "redis", "key": "url"}}), read)
    assert url == "rediss://:s3cret@redis.example:6380/0"
    assert reads == [("redis", "url")]


def test_a_missing_secret_key_is_secret_not_found() -> None:
    ref = install({"urlSecretRef": {"name": "redis", "key": "uri"}})
    with pytest.raises(StoreUnavailable) as err:
        redis_url_of("team-a", ref, lambda name, key: None)
    assert err.value.reason == "SecretNotFound"
    assert err.value.message == (
        "spec.storage.redis.urlSecretRef: Secret team-a/redis has no key 'uri' (or is not readable)"
    )


def test_no_installation_is_no_installation() -> None:
    with pytest.raises(StoreUnavailable) as err:
        redis_url_of("team-b", None, no_secrets)
    assert err.value.reason == "NoInstallation"
    assert "no OTelGuard resource in namespace team-b" in err.value.message


@pytest.mark.parametrize("redis", [{}, {"urlSecretRef": {"name": "redis"}}, {"url": ""}])
def test_an_installation_naming_no_redis_is_reported(redis: dict[str, Any]) -> None:
    with pytest.raises(StoreUnavailable) as err:
        redis_url_of("team-a", install(redis), no_secrets)
    assert (err.value.reason, err.value.message) == (
        "NoInstallation",
        "OTelGuard in team-a names no Redis URL",
    )


# -- one client per URL --------------------------------------------------------------------------------------


def test_one_client_per_url_until_close(tmp_path: Path) -> None:
    stores = NamespaceStores(kube=None, data_dir=tmp_path)  # type: ignore[arg-type]  # no cluster needed here
    a = stores.redis_for_url("redis://127.0.0.1:6379/0")
    assert stores.redis_for_url("redis://127.0.0.1:6379/0") is a
    b = stores.redis_for_url("redis://127.0.0.1:6379/1")
    assert b is not a
    assert b.connection_pool.connection_kwargs["socket_connect_timeout"] == 3.0  # a tick never hangs
    stores.close()
    assert stores.redis_for_url("redis://127.0.0.1:6379/0") is not a
    stores.close()


def test_an_invalid_url_is_storage_unavailable(tmp_path: Path) -> None:
    stores = NamespaceStores(kube=None, data_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable) as err:
        stores.redis_for_url("http://redis:6379")
    assert err.value.reason == "StorageUnavailable"
    assert err.value.message.startswith("Redis: invalid URL:")


# -- the timer interval --------------------------------------------------------------------------------------


def test_stats_interval_defaults_to_15_seconds_and_reads_the_env() -> None:
    assert stats_interval({}) == 15.0
    assert stats_interval({STATS_INTERVAL_ENV: " 0.5 "}) == 0.5


@pytest.mark.parametrize("raw", ["fast", "0", "-1", "nan", "inf", "1e9"])
def test_a_bad_stats_interval_stops_the_operator_with_a_clear_message(raw: str) -> None:
    with pytest.raises(SystemExit) as err:
        stats_interval({STATS_INTERVAL_ENV: raw})
    assert STATS_INTERVAL_ENV in str(err.value) and repr(raw) in str(err.value)


# -- status fields, and reconcile keeping them ---------------------------------------------------------------


def test_status_fields_are_the_crd_names_with_an_rfc3339_last_run() -> None:
    stats = EvaluatorStats(
        scored=12, errors=1, judge_cost_usd=0.0123456789, last_run=1735732800.9, spans_per_minute=4
    )
    assert status_fields(stats) == {
        "scoredSpans": 12,
        "errors": 1,
        "judgeCostUsd": 0.012346,
        "spansPerMinute": 4,
        "lastRun": "2025-01-01T12:00:00Z",
    }
    never = status_fields(EvaluatorStats(0, 0, 0.0, None, 0))
    assert "lastRun" not in never and never["scoredSpans"] == 0


def test_reconcile_never_patches_the_workers_counters() -> None:
    counters = status_fields(EvaluatorStats(1200, 3, 0.42, 1735732800.0, 17))
    obj = manifest("evaluator")
    _, first = reconcile(obj, Applied(version=1))
    live = {**first, **counters}  # the timer patched the counters after the first reconcile
    # a resync and a spec edit: the operator's merge patch leaves every counter as the timer wrote it
    for again in (obj, edited(obj, "spec.samplingRate", 0.5)):
        _, status = reconcile(again, Applied(version=2), status=live, now=T1)
        assert ready(status)[0] == "True"
        assert {k: status[k] for k in counters} == counters
        assert not set(status_patch(live, status)) & set(counters), status_patch(live, status)
