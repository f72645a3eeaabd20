"""The eval workers' shared state in Redis: scores waiting for the writer, dead letters, done marks and
per-evaluator counters.

Workers hold no ClickHouse connection (the embedded chDB belongs to one process): they push score rows
onto ``SCORE_QUEUE`` and the platform's score drain writes them. One ``record_batch`` is one MULTI/EXEC,
so a batch's done marks, scores and counters land together or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

__all__ = [
    "DEAD_LETTERS",
    "DONE_TTL_S",
    "SCORE_QUEUE",
    "EvaluatorStats",
    "dead_letters",
    "done_key",
    "read_stats",
    "record_batch",
    "record_dead",
    "stats_key",
    "status_fields",
    "undone",
]

PREFIX = "otelguard:eval"
SCORE_QUEUE = f"{PREFIX}:scores"
DEAD_LETTERS = f"{PREFIX}:dead"
DONE_TTL_S = 7 * 24 * 3600  # a span redelivered later than this may be scored again (same id: no duplicate)
_DEAD_MAX = 10_000  # the dead-letter list keeps the newest entries
_MINUTE_TTL_S = 180


def stats_key(evaluator: str) -> str:
    """``evaluator`` is ``namespace/name``."""
    return f"{PREFIX}:stats:{evaluator}"


def _minute_key(evaluator: str, minute: int) -> str:
    return f"{PREFIX}:minute:{evaluator}:{minute}"


def done_key(evaluator: str, version: int, span_id: str) -> str:
    return f"{PREFIX}:done:{evaluator}:{version}:{span_id}"


def undone(client: redis.Redis, evaluator: str, version: int, span_ids: Sequence[str]) -> list[bool]:
    """For each span, True when this evaluator version has not scored it yet."""
    if not span_ids:
        return []
    pipe = client.pipeline(transaction=False)
    for s in span_ids:
        pipe.exists(done_key(evaluator, version, s))
    return [n == 0 for n in pipe.execute()]


def record_batch(
    client: redis.Redis,
    evaluator: str,
    version: int,
    scores: Sequence[Mapping[str, Any]],
    *,
    errors: int = 0,
    judge_cost_usd: float = 0.0,
    now: float | None = None,
) -> None:
    """Atomically: mark the scored spans done, queue their score rows, and count them."""
    now = time.time() if now is None else now
    key = stats_key(evaluator)
    pipe = client.pipeline(transaction=True)
    for row in scores:
        pipe.set(done_key(evaluator, version, str(row["span_id"])), 1, ex=DONE_TTL_S)
    if scores:
        pipe.rpush(SCORE_QUEUE, *[json.dumps(row, separators=(",", ":")) for row in scores])
        pipe.hincrby(key, "scored", len(scores))
        minute = _minute_key(evaluator, int(now // 60))
        pipe.incrby(minute, len(scores))
        pipe.expire(minute, _MINUTE_TTL_S)
    if errors:
        pipe.hincrby(key, "errors", errors)
    if judge_cost_usd:
        pipe.hincrbyfloat(key, "judge_cost_usd", judge_cost_usd)
    pipe.hset(key, "last_run", repr(now))
    pipe.execute()


def record_dead(client: redis.Redis, evaluator: str, entries: Iterable[Mapping[str, Any]]) -> int:
    """Keep permanently failed evaluations for inspection (newest first, bounded) and count them."""
    items = [json.dumps({"evaluator": evaluator, **e}, separators=(",", ":"), default=str) for e in entries]
    if not items:
        return 0
    pipe = client.pipeline(transaction=True)
    pipe.lpush(DEAD_LETTERS, *items)
    pipe.ltrim(DEAD_LETTERS, 0, _DEAD_MAX - 1)
    pipe.hincrby(stats_key(evaluator), "errors", len(items))
    pipe.hset(stats_key(evaluator), "last_run", repr(time.time()))
    pipe.execute()
    return len(items)


def dead_letters(client: redis.Redis, limit: int = 100) -> list[dict[str, Any]]:
    return [json.loads(x) for x in client.lrange(DEAD_LETTERS, 0, max(0, limit - 1))]


@dataclass(frozen=True, slots=True)
class EvaluatorStats:
    scored: int
    errors: int
    judge_cost_usd: float
    last_run: float | None  # epoch seconds
    spans_per_minute: int  # scored in the last complete minute


def read_stats(client: redis.Redis, evaluator: str, *, now: float | None = None) -> EvaluatorStats:
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(stats_key(evaluator))
    pipe.get(_minute_key(evaluator, int(now // 60) - 1))
    raw, minute = pipe.execute()
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    last = fields.get("last_run")
    return EvaluatorStats(
        scored=int(fields.get("scored", 0)),
        errors=int(fields.get("errors", 0)),
        judge_cost_usd=float(fields.get("judge_cost_usd", 0.0)),
        last_run=float(last) if last is not None else None,
        spans_per_minute=int(minute or 0),
    )


def status_fields(stats: EvaluatorStats) -> dict[str, Any]:
    """The Evaluator status fields the counters fill (camelCase; ``lastRun`` RFC 3339 UTC), shared by the
    operator's timer and ``otelguard up`` so both show the same numbers the same way."""
    out: dict[str, Any] = {
        "scoredSpans": stats.scored,
        "errors": stats.errors,
        "judgeCostUsd": round(stats.judge_cost_usd, 6),
        "spansPerMinute": stats.spans_per_minute,
    }
    if stats.last_run is not None:
        out["lastRun"] = datetime.fromtimestamp(stats.last_run, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
