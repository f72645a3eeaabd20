"""The guard service without stores: reload and snapshot swaps, the result cache, bad input, events."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from otelguard.guardrails import InputTooLarge, UnknownPolicy, UnknownStage
from otelguard.webui.guard_service import (
    EmptyText,
    EventWriter,
    GuardConfig,
    GuardRequest,
    GuardService,
    PolicyRow,
)

BLOCK = {"type": "block", "params": {"message": "Blocked."}}
TEXT = "Mail jane.doe@example.com please"


def spec(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": 1, "stages": ["input", "output"], "rules": list(rules), **extra}


def pii(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"name": "pii", "validator": "pii", "onFail": list(actions or [{"type": "sanitize"}])}


class Rows:
    """A mutable policy table standing in for Postgres."""

    def __init__(self) -> None:
        self.rows: dict[str, PolicyRow] = {}

    def put(self, name: str, doc: dict[str, Any], version: int = 1) -> None:
        self.rows[name] = PolicyRow(name, version, doc, (name, version, repr(doc)))

    def __call__(self) -> list[PolicyRow]:
        return list(self.rows.values())


class Sink:
    def __init__(self) -> None:
        self.rows: list[Mapping[str, Any]] = []
        self.calls = 0

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        self.rows.extend(rows)


@pytest.fixture
def rows() -> Rows:
    return Rows()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def service(rows: Rows, sink: Sink) -> Any:
    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, sink).start(poll=False)
    yield svc
    svc.close()


def check(svc: GuardService, text: str | None = TEXT, project: str = "default", **kw: Any) -> Any:
    stage = kw.pop("stage", "input")
    req = GuardRequest(stage=stage, text=text, **kw)
    return svc.check(req, project_id=f"id-{project}", project_name=project)


def test_sanitizes_and_writes_events_with_the_project_id(service: GuardService, sink: Sink) -> None:
    d = check(service, trace_id="a" * 32)
    out = d.to_dict()
    assert (out["verdict"], out["text"], out["cached"]) == ("flag", "Mail <EMAIL> please", False)
    assert out["policies"] == ["ns/pii"]
    assert service.writer is not None
    service.writer.flush()
    assert [(r["project_id"], r["policy"], r["action"], r["trace_id"]) for r in sink.rows] == [
        ("id-default", "ns/pii", "sanitize", "a" * 32)
    ]


def test_reload_swaps_the_snapshot_and_in_flight_checks_keep_theirs(
    service: GuardService, rows: Rows
) -> None:
    old = service.snapshot
    assert service.reload() is False  # nothing changed: no new snapshot
    assert service.snapshot is old
    rows.put("ns/pii", spec(pii(BLOCK)), version=2)
    assert service.reload() is True
    new = service.snapshot
    assert new.version == old.version + 1
    assert check(service).result.verdict == "block"
    # A check that started on the old snapshot still evaluates against it.
    assert old.evaluate(TEXT, "input").verdict == "flag"
    assert new.policy("ns/pii") is not None and new.policy("ns/pii").version == "2"  # type: ignore[union-attr]


def test_reload_is_atomic_under_concurrent_checks(service: GuardService, rows: Rows) -> None:
    errors: list[BaseException] = []
    verdicts: set[str] = set()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                verdicts.add(check(service).result.verdict)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for version in range(2, 30):
        rows.put("ns/pii", spec(pii(BLOCK if version % 2 else {"type": "sanitize"})), version=version)
        service.reload()
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert verdicts <= {"flag", "block"}


def test_a_policy_that_does_not_compile_is_skipped_and_reported(service: GuardService, rows: Rows) -> None:
    rows.put("ns/bad", spec({"name": "r", "validator": "regex", "params": {"pattern": "(a"}}))
    rows.put("ns/unknown", spec({"name": "r", "validator": "no_such_validator"}))
    assert service.reload()
    assert sorted(service.errors) == ["ns/bad", "ns/unknown"]
    assert [p.name for p in service.snapshot.policies] == ["ns/pii"]
    assert check(service).result.verdict == "flag"  # still serving
    del rows.rows["ns/bad"], rows.rows["ns/unknown"]
    service.reload()
    assert service.errors == {}


def test_deleted_policy_stops_applying(service: GuardService, rows: Rows) -> None:
    rows.rows.clear()
    service.reload()
    assert check(service).result.verdict == "pass"


def test_cache_hit_and_its_key(service: GuardService, rows: Rows, sink: Sink) -> None:
    first = check(service, trace_id="1" * 32)
    second = check(service, trace_id="2" * 32)
    assert (first.cached, second.cached) == (False, True)
    assert second.to_dict()["text"] == first.to_dict()["text"]
    assert check(service, labels={"app": "x"}).cached is False  # metadata is in the key
    assert check(service, model="gpt-4o").cached is False
    assert check(service, stage="output", input_text="q").cached is False
    assert check(service, project="other").cached is False
    assert check(service, TEXT + " ").cached is False
    rows.put("ns/pii", spec(pii()), version=2)
    service.reload()  # a new snapshot version: no stale hit
    assert check(service).cached is False
    assert service.writer is not None
    service.writer.flush()
    ids = [r["id"] for r in sink.rows]
    assert len(ids) == len(set(ids))  # a cached decision's events get fresh ids
    assert {"1" * 32, "2" * 32} <= {r["trace_id"] for r in sink.rows}


def test_cache_is_bounded(rows: Rows) -> None:
    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, config=GuardConfig(cache_size=3)).start(poll=False)
    for i in range(10):
        check(svc, f"text {i}")
    assert len(svc._cache) == 3
    assert check(svc, "text 9").cached and not check(svc, "text 0").cached


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": None}, EmptyText),
        ({"text": ""}, EmptyText),
        ({"stage": "ingest"}, UnknownStage),
        ({"stage": "bogus"}, UnknownStage),
        ({"policy": "nope"}, UnknownPolicy),
    ],
)
def test_bad_input(service: GuardService, kwargs: dict[str, Any], error: type[Exception]) -> None:
    text = kwargs.pop("text", TEXT)
    with pytest.raises(error):
        check(service, text, **kwargs)


def test_size_limit_counts_utf8_bytes(rows: Rows) -> None:
    svc = GuardService(rows, config=GuardConfig(max_text_bytes=100)).start(poll=False)
    check(svc, "a" * 100)
    with pytest.raises(InputTooLarge):
        check(svc, "é" * 51)  # 102 bytes
    with pytest.raises(InputTooLarge):
        check(svc, "ok", stage="output", input_text="x" * 101)


def test_named_policies_and_project_selectors(service: GuardService, rows: Rows) -> None:
    rows.put("team-a/only-a", spec(pii(BLOCK), selector={"projects": ["team-a"]}))
    service.reload()
    # Selectors match the caller's project name.
    assert check(service, project="team-a").result.verdict == "block"
    assert check(service, project="default").result.verdict == "flag"
    # A named policy: full name or a unique short name; invisible to other projects.
    assert check(service, project="team-a", policy="only-a").result.policies == ("team-a/only-a",)
    assert check(service, project="team-a", policy="ns/pii").result.policies == ("ns/pii",)
    with pytest.raises(UnknownPolicy):
        check(service, project="default", policy="team-a/only-a")


def test_shadow_policy_passes_but_records(rows: Rows, sink: Sink) -> None:
    rows.put("ns/shadow", spec(pii(BLOCK), mode="shadow"))
    svc = GuardService(rows, sink).start(poll=False)
    d = check(svc)
    assert (d.result.verdict, d.result.text) == ("pass", TEXT)
    assert svc.writer is not None
    svc.writer.flush()
    assert [(r["shadow"], r["action"]) for r in sink.rows] == [(True, "block")]
    svc.close()


def test_event_writer_drops_when_full_and_never_blocks(rows: Rows) -> None:
    gate = threading.Event()

    def slow(_rows: Sequence[Mapping[str, Any]]) -> None:
        gate.wait(5)

    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, config=GuardConfig(cache_size=0, event_queue=2, event_batch=1))
    svc.writer = EventWriter(slow, max_queue=2, batch=1, flush_s=0.01)
    svc.start(poll=False)
    for i in range(20):
        check(svc, f"{TEXT} {i}")
    assert svc.writer.dropped >= 15
    gate.set()
    svc.close()


def test_event_writer_batches_what_arrives_within_its_linger(rows: Rows) -> None:
    calls: list[int] = []
    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, config=GuardConfig(cache_size=0))
    svc.writer = EventWriter(lambda batch: calls.append(len(batch)), linger_s=1.0)
    svc.start(poll=False)
    for i in range(30):
        check(svc, f"{TEXT} {i}")
    svc.writer.flush()
    # 30 decisions with one event each, all within a second of the first: one insert, not 30.
    assert calls == [30]
    check(svc, f"{TEXT} last")
    svc.close()  # closing does not wait out the linger, and writes what is queued
    assert calls == [30, 1]


def test_failing_sink_counts_drops_and_keeps_serving(rows: Rows) -> None:
    def broken(_rows: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("store down")

    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, broken).start(poll=False)
    check(svc)
    assert svc.writer is not None
    svc.writer.flush()
    assert svc.writer.dropped == 1
    assert check(svc, TEXT + "!").result.verdict == "flag"
    svc.close()


def test_poller_picks_up_changes(rows: Rows) -> None:
    rows.put("ns/pii", spec(pii()))
    svc = GuardService(rows, config=GuardConfig(reload_interval_s=0.05)).start()
    try:
        rows.put("ns/pii", spec(pii(BLOCK)), version=2)
        for _ in range(100):
            if check(svc).result.verdict == "block":
                break
            threading.Event().wait(0.02)
        assert check(svc).result.verdict == "block"
    finally:
        svc.close()
