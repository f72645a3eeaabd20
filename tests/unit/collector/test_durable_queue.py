"""The durable queue: acknowledgement after fsync, whole-request batches, the memory bound, replay."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from otelguard.collector.durable_queue import DurableQueue
from otelguard.collector.errors import QueueFull, ShuttingDown
from otelguard.collector.spool import Spool


def rows(n: int, tag: str = "r") -> list[Any]:
    return [f"{tag}{i}" for i in range(n)]  # the queue never looks inside records


async def submit_all(queue: DurableQueue, batches: Sequence[list[Any]]) -> list[int]:
    futures = [queue.submit("proj", f"payload{i}".encode(), b) for i, b in enumerate(batches)]
    return list(await asyncio.gather(*futures))


def test_ack_means_on_disk_and_batches_hold_whole_requests(tmp_path: Path) -> None:
    queue = DurableQueue(Spool(tmp_path), max_spans=1000)
    seqs = asyncio.run(submit_all(queue, [rows(3, "a"), rows(4, "b"), rows(5, "c")]))
    assert seqs == [1, 2, 3]
    # acknowledged ⇒ readable from a fresh Spool on the same directory
    assert [r.payload for r in Spool(tmp_path).pending()] == [b"payload0", b"payload1", b"payload2"]
    first = queue.take_batch(max_rows=8, max_wait_s=0)
    assert first is not None and (first.first_seq, first.last_seq) == (1, 2)
    assert first.records == rows(3, "a") + rows(4, "b")
    queue.committed(first)
    second = queue.take_batch(max_rows=8, max_wait_s=0)
    assert second is not None and (second.first_seq, second.last_seq) == (3, 3)
    queue.committed(second)
    assert queue.held_spans == 0
    assert queue.take_batch(max_rows=8, max_wait_s=0) is None
    queue.close()


def test_oversized_request_still_forms_a_batch(tmp_path: Path) -> None:
    queue = DurableQueue(Spool(tmp_path), max_spans=1000)
    asyncio.run(submit_all(queue, [rows(50)]))
    batch = queue.take_batch(max_rows=10, max_wait_s=0)
    assert batch is not None and len(batch.records) == 50
    queue.close()


def test_full_queue_refuses_with_queue_full(tmp_path: Path) -> None:
    queue = DurableQueue(Spool(tmp_path), max_spans=10)

    async def scenario() -> None:
        await queue.submit("p", b"x", rows(8))
        with pytest.raises(QueueFull) as info:
            queue.submit("p", b"y", rows(3))
        assert info.value.http_status == 429 and info.value.retry_after_s

    asyncio.run(scenario())
    batch = queue.take_batch(100, 0)
    assert batch is not None
    queue.committed(batch)

    async def after_drain() -> None:
        await queue.submit("p", b"y", rows(3))  # room again once written

    asyncio.run(after_drain())
    queue.close()
    with pytest.raises(ShuttingDown):
        asyncio.run(submit_all(queue, [rows(1)]))


def test_recover_replays_the_interrupted_batch_exactly(tmp_path: Path) -> None:
    queue = DurableQueue(Spool(tmp_path), max_spans=1000)
    asyncio.run(submit_all(queue, [rows(2, "a"), rows(2, "b"), rows(2, "c"), rows(2, "d")]))
    batch = queue.take_batch(max_rows=4, max_wait_s=0)
    assert batch is not None and (batch.first_seq, batch.last_seq) == (1, 2)
    queue.spool.record_intent(batch.first_seq, batch.last_seq)
    token = batch.token(queue.spool.spool_id)
    queue.close()  # "crash" before commit

    decoded: list[tuple[str, bytes]] = []

    def decode(project: str, payload: bytes) -> list[Any]:
        decoded.append((project, payload))
        return [payload.decode()]

    again = DurableQueue(Spool(tmp_path), max_spans=1000)
    assert again.recover(decode) == 4
    replay = again.take_batch(max_rows=100, max_wait_s=0)
    assert replay is not None and (replay.first_seq, replay.last_seq) == (1, 2)
    assert replay.token(again.spool.spool_id) == token  # same token ⇒ the store deduplicates it
    again.committed(replay)
    rest = again.take_batch(max_rows=100, max_wait_s=0)
    assert rest is not None and (rest.first_seq, rest.last_seq) == (3, 4)
    assert rest.records == ["payload2", "payload3"]
    again.close()
