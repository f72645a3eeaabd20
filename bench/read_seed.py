"""Seed realistic LLM traces into chDB through the ingest path's own functions (for bench/read_api.py).

Each trace is an agent run: a root ``invoke_agent`` span with retrieval, chat (1-5 LLM calls), tool and
embedding children, ~10 spans on average, in OTel GenAI attributes (``gen_ai.*`` messages, usage, model,
provider; ``user.id``, ``session.id``, ``otelguard.tags``, ``otelguard.prompt.*``). About 2-3% of traces
have a failing tool. Start times are spread over 7 days with 60% in the last 24 hours, in time order
(as a live system receives them).

Every span goes through the collector's conversion: ``RawSpan`` (what ``otlp_convert.convert`` yields)
→ ``semconv.normalize`` (the pipeline's step, with the default price table) → ``spans_to_arrow`` →
``transport.insert_arrow`` into ``spans`` — exactly what the writer's ``insert_spans`` does, so the
``traces`` materialized view is fed as in production. Worker processes build Arrow batches; the parent
inserts them (one chDB process owns the data path).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from otelguard.model import RawEvent, RawSpan, StatusCode
from otelguard.storage.clickhouse import ClickHouseTransport

__all__ = ["SEED_VERSION", "SeedPlan", "search_term", "seed"]

SEED_VERSION = 3
PROJECTS = ("default", "staging")  # every 10th trace goes to "staging": queries must scope by project
DAY_NS = 86_400 * 10**9
# The 1M seed: 60,000 traces (600,000 spans) in the last 24 h, 40,000 over the 6 days before. A bigger seed
# is a system that has run longer: the same traffic per day, more days of history (so queries scoped to
# the last day see the same data); ``dense`` instead packs every size into those 7 days.
RECENT_SHARE = 0.6
RECENT_TRACES = 60_000
OLDER_TRACES_PER_DAY = 40_000 / 6
TRACES_PER_CHUNK = 4_000  # ~40,000 spans: one Arrow batch, one insert


def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words(
    "order refund shipping invoice account password reset delivery tracking customer support please could "
    "you help me with my recent purchase the package arrived damaged and I would like a replacement or full "
    "refund as soon as possible thanks regards update status policy warranty return label courier address "
    "change subscription cancel upgrade plan billing charge"
)
MODELS = (  # (provider, model, weight)
    ("openai", "gpt-4o-mini", 45),
    ("openai", "gpt-4o", 20),
    ("anthropic", "claude-sonnet-4-20250514", 15),
    ("openai", "gpt-4.1", 10),
    ("gcp.gemini", "gemini-2.5-flash", 10),
)
TAGS = ("prod", "beta", "support", "checkout", "mobile", "web", "vip", "eval")
TOOLS = ("lookup_order", "refund_order", "search_kb", "update_address", "send_email")
PROMPTS = ("triage", "answer", "summarize")
_SYLLABLES = _words("ka lo mi ra tu ven zor pel dax qui bre sol fin gar hup nox")


def _vocabulary(n: int) -> list[str]:
    """Pseudo product names (``zorvenka``...), ranked: a Zipf draw makes low ranks frequent."""
    rng = random.Random(7)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(3))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


PRODUCTS = _vocabulary(3000)
_ZIPF = [1.0 / (rank + 1) for rank in range(len(PRODUCTS))]
_ZIPF_CUM = [sum(_ZIPF[: i + 1]) for i in range(len(_ZIPF))]


def search_term(rank: int) -> str:
    """The product word of that Zipf rank (rank 50 is in ~0.2% of LLM inputs)."""
    return PRODUCTS[rank]


@dataclass(frozen=True, slots=True)
class SeedPlan:
    spans: int
    now_ns: int
    project_ids: tuple[str, str]  # Postgres ids of PROJECTS
    dense: bool = False

    @property
    def traces(self) -> int:
        return -(-self.spans // 10)

    @property
    def recent_traces(self) -> int:
        share = round(self.traces * RECENT_SHARE)
        return share if self.dense else min(share, RECENT_TRACES)

    @property
    def history_days(self) -> float:
        older = self.traces - self.recent_traces
        return 6.0 if self.dense else max(1.0, older / OLDER_TRACES_PER_DAY)

    def start_ns(self, index: int, jitter: float) -> int:
        """Trace ``index``'s start (traces are in time order): the older ones spread evenly over
        ``history_days`` before the last day, the rest over the last 24 hours."""
        older = self.traces - self.recent_traces
        if index < older:
            span = self.history_days * DAY_NS
            return self.now_ns - DAY_NS - int(span) + int((index + jitter) / older * span)
        return self.now_ns - DAY_NS + int((index - older + jitter) / self.recent_traces * DAY_NS)


def _text(rng: random.Random, size: int, product: str) -> str:
    words = [rng.choice(COMMON) for _ in range(max(3, size // 7))]
    words.insert(rng.randrange(len(words)), product)
    return " ".join(words)


def _product(rng: random.Random) -> str:
    x = rng.random() * _ZIPF_CUM[-1]
    lo, hi = 0, len(_ZIPF_CUM) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _ZIPF_CUM[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return PRODUCTS[lo]


def _messages(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in pairs])


_RESOURCE = {"service.name": "support-bot", "deployment.environment": "prod", "service.version": "2.4.1"}
_SCOPE = "opentelemetry.instrumentation.openai_v2"


class _Trace:
    """Builds one trace's spans (children run one after another under the root)."""

    def __init__(self, rng: random.Random, start_ns: int, user: str, session: str) -> None:
        self.rng = rng
        self.trace_id = f"{rng.getrandbits(128):032x}"
        self.root_id = f"{rng.getrandbits(64):016x}"
        self.cursor = start_ns + rng.randrange(1_000_000, 20_000_000)
        self.start_ns = start_ns
        self.user, self.session = user, session
        self.spans: list[RawSpan] = []

    def child(
        self,
        name: str,
        ms: float,
        attrs: dict[str, object],
        *,
        error: str = "",
        events: list[RawEvent] | None = None,
    ) -> None:
        start = self.cursor
        end = start + int(ms * 1e6)
        self.cursor = end + self.rng.randrange(100_000, 5_000_000)
        attrs = {**attrs, "user.id": self.user, "session.id": self.session}
        self.spans.append(
            RawSpan(
                trace_id=self.trace_id,
                span_id=f"{self.rng.getrandbits(64):016x}",
                parent_span_id=self.root_id,
                name=name,
                otel_kind="client" if "gen_ai.request.model" in attrs else "internal",
                start_time_unix_nano=start,
                end_time_unix_nano=end,
                status_code=StatusCode.ERROR if error else StatusCode.UNSET,
                status_message=error,
                attributes=attrs,  # type: ignore[arg-type]
                resource_attributes=_RESOURCE,  # type: ignore[arg-type]
                scope_name=_SCOPE,
                events=events or [],
            )
        )

    def root(self, question: str, answer: str, tags: list[str]) -> RawSpan:
        return RawSpan(
            trace_id=self.trace_id,
            span_id=self.root_id,
            parent_span_id="",
            name="invoke_agent support",
            otel_kind="server",
            start_time_unix_nano=self.start_ns,
            end_time_unix_nano=self.cursor + self.rng.randrange(1_000_000, 10_000_000),
            status_code=StatusCode.OK,
            status_message="",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "support",
                "user.id": self.user,
                "session.id": self.session,
                "otelguard.tags": tags,  # type: ignore[dict-item]
                "input.value": question,
                "output.value": answer,
            },
            resource_attributes=_RESOURCE,  # type: ignore[arg-type]
            scope_name="otelguard.agent",
        )


def _trace(rng: random.Random, start_ns: int, size: int, user: str, session: str) -> list[RawSpan]:
    """``size`` spans: root, retrieval, embedding, then chat calls and tool calls in turn."""
    t = _Trace(rng, start_ns, user, session)
    product = _product(rng)
    question = _text(rng, rng.randrange(80, 400), product)
    t.child(
        "embeddings text-embedding-3-small",
        rng.uniform(20, 120),
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": rng.randrange(20, 120),
        },
    )
    t.child(
        "retrieval kb",
        rng.uniform(30, 400),
        {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.data_source.id": "kb-main",
            "input.value": question,
            "output.value": _text(rng, rng.randrange(300, 900), product),
        },
    )
    provider, model, _ = rng.choices(MODELS, weights=[m[2] for m in MODELS])[0]
    failing = rng.random() < 0.05
    answer = ""
    left = size - 3
    turn = 0
    while left > 0:
        if turn % 2 == 0 or left == 1:
            answer = _text(rng, rng.randrange(150, 900), product if rng.random() < 0.5 else _product(rng))
            attrs: dict[str, object] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "gen_ai.response.model": model,
                "gen_ai.request.temperature": 0.2,
                "gen_ai.usage.input_tokens": rng.randrange(300, 4000),
                "gen_ai.usage.output_tokens": rng.randrange(40, 900),
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(48):x}",
                "gen_ai.input.messages": _messages(
                    ("system", "You are the support agent of Acme Shop. Be brief and precise."),
                    ("user", question),
                ),
                "gen_ai.output.messages": _messages(("assistant", answer)),
                "server.address": "api.openai.com" if provider == "openai" else f"api.{provider}.com",
            }
            if rng.random() < 0.3:
                attrs["otelguard.prompt.name"] = rng.choice(PROMPTS)
                attrs["otelguard.prompt.version"] = rng.randrange(1, 6)
            t.child(f"chat {model}", rng.lognormvariate(0.2, 0.6) * 1000, attrs)
        else:
            tool = rng.choice(TOOLS)
            error = "upstream timed out after 5000 ms" if failing and left <= 2 else ""
            events = (
                [
                    RawEvent(
                        "exception", t.cursor, {"exception.type": "TimeoutError", "exception.message": error}
                    )
                ]
                if error
                else None
            )
            t.child(
                f"execute_tool {tool}",
                rng.uniform(15, 900),
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": f"call_{rng.getrandbits(40):x}",
                    "gen_ai.tool.call.arguments": json.dumps({"order_id": rng.randrange(10**5, 10**6)}),
                    "gen_ai.tool.call.result": json.dumps({"status": rng.choice(COMMON), "product": product}),
                    **({"error.type": "TimeoutError"} if error else {}),
                },
                error=error,
                events=events,
            )
        left -= 1
        turn += 1
    tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2)))
    return [t.root(question, answer, tags), *t.spans]


def _chunk(plan: SeedPlan, chunk: int) -> bytes:
    """Traces [chunk * TRACES_PER_CHUNK, ...) as Arrow IPC bytes of normalized spans (stops at plan.spans)."""
    from otelguard.semconv import PriceTable, normalize
    from otelguard.storage.clickhouse import spans_to_arrow
    from otelguard.storage.clickhouse.transport import arrow_ipc_stream

    prices = PriceTable.default()
    rng = random.Random(plan.now_ns * 1000 + chunk)
    users = [f"user-{i:05d}" for i in range(max(50, plan.traces // 40))]
    active: list[tuple[str, str]] = []
    first = chunk * TRACES_PER_CHUNK
    records = []
    for index in range(first, min(plan.traces, first + TRACES_PER_CHUNK), 2):
        offset = index * 10  # pairs of traces hold exactly 20 spans: the span offset is known
        if offset >= plan.spans:
            break
        d = rng.randrange(-6, 7)
        for j, planned in enumerate((10 + d, 10 - d)):
            size = min(planned, plan.spans - offset)
            if size <= 0:
                break
            offset += size
            if not active or rng.random() < 0.25:  # a new conversation (of a Zipf-ish user)
                user = users[int(len(users) * rng.random() ** 2)]  # some users are much busier
                active.append((user, f"sess-{rng.getrandbits(64):016x}"))
                if len(active) > 64:
                    active.pop(rng.randrange(len(active)))
            user, session = rng.choice(active)
            project = plan.project_ids[(index + j) % 10 == 9]
            for raw in _trace(rng, plan.start_ns(index + j, rng.random()), size, user, session):
                records.append(normalize(raw, project, prices=prices, max_payload_bytes=65536))
    return arrow_ipc_stream(spans_to_arrow(records))


def _batches(plan: SeedPlan, workers: int) -> Iterator[pa.Table]:
    chunks = range(-(-plan.traces // TRACES_PER_CHUNK))
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        for payload in pool.imap(_chunk_job, [(plan, c) for c in chunks]):
            yield pa.ipc.open_stream(payload).read_all()


def _chunk_job(args: tuple[SeedPlan, int]) -> bytes:
    return _chunk(*args)


def seed(
    data_dir: Path, spans: int, *, workers: int, dense: bool = False, log: bool = True
) -> dict[str, object]:
    """Create the schema under ``data_dir`` and insert ``spans`` spans. Returns the seed's facts."""
    from otelguard.local.stores import open_postgres
    from otelguard.settings import Settings
    from otelguard.storage import clickhouse, postgres

    with open_postgres(Settings(data_dir=data_dir)) as db:  # the projects the API keys will belong to
        ids = tuple(postgres.ensure_project(db, name).id for name in PROJECTS)
    plan = SeedPlan(spans=spans, now_ns=time.time_ns(), project_ids=(ids[0], ids[1]), dense=dense)
    transport = clickhouse.connect(None, data_dir)
    try:
        clickhouse.migrate(transport)
        table = f"{transport.database}.spans"
        started = time.perf_counter()
        written = 0
        for n, batch in enumerate(_batches(plan, workers)):
            transport.insert_arrow(table, batch, dedup_token=f"seed-{plan.now_ns}-{n}")
            written += batch.num_rows
            if log and n % 25 == 0:
                rate = written / (time.perf_counter() - started)
                print(f"seeded {written:,} spans ({rate:,.0f} spans/s)", flush=True)
        seconds = time.perf_counter() - started
        settle = _settle(transport)
        rows = transport.query(
            f"SELECT (SELECT count() FROM {table}) AS spans, "
            f"(SELECT uniqExact(trace_id) FROM {transport.database}.traces) AS traces, "
            f"(SELECT count() FROM {table} WHERE project_id = {{p:String}}) AS project_spans, "
            "(SELECT sum(bytes_on_disk) FROM system.parts WHERE database = {db:String} AND table = 'spans' "
            "AND active) AS spans_bytes",
            {"p": ids[0], "db": transport.database},
        )[0]
    finally:
        transport.close()
    return {
        "spans": int(rows["spans"]),
        "traces": int(rows["traces"]),
        "default_project_spans": int(rows["project_spans"]),
        "disk_bytes_per_span": round(int(rows["spans_bytes"]) / max(1, int(rows["spans"]))),
        "now_ns": plan.now_ns,
        "seed_seconds": round(seconds, 1),
        "settle_seconds": round(settle, 1),
        "version": SEED_VERSION,
        "dense": dense,
        "history_days": round(plan.history_days + 1, 1),
    }


def _settle(transport: ClickHouseTransport, timeout_s: float = 600.0) -> float:
    """Wait until background merges are done, as on a system that has been running for a while."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        busy = transport.query(
            "SELECT count() AS n FROM system.merges WHERE database = {db:String}", {"db": transport.database}
        )[0]["n"]
        if not busy:
            break
        time.sleep(1)
    return time.perf_counter() - started
