"""Realistic LLM spans for storage tests and measurements (deterministic for a seed).

A trace is a small agent run: an ``agent`` root (input = the user's question, output = the answer), a
``retriever`` span (output = document chunks from a fixed corpus), one or two ``llm`` calls (input = a
JSON chat: system prompt, retrieved context, the question; output = generated text) and a ``tool`` span.
Text is built from a Zipf-distributed vocabulary, so it compresses like prose rather than like random
bytes or like a repeated constant. Spans carry ~15 attributes and ~7 resource attributes.
"""

from __future__ import annotations

import json
import random
import string

from otelguard.model import SpanRecord

_VOCAB_SIZE = 5000


class SpanGenerator:
    def __init__(self, seed: int = 1, *, project_id: str = "proj-a", start_ns: int = 1_760_000_000 * 10**9):
        self.rng = random.Random(seed)
        self.project_id = project_id
        self.clock = start_ns
        self.vocab = [
            "".join(self.rng.choices(string.ascii_lowercase, k=self.rng.randint(2, 10)))
            for _ in range(_VOCAB_SIZE)
        ]
        self.weights = [1.0 / (rank + 1) for rank in range(_VOCAB_SIZE)]
        self.system_prompts = [self.sentence(140) for _ in range(3)]
        self.corpus = [self.sentence(90) for _ in range(500)]
        self.users = [f"user-{i:04d}" for i in range(200)]
        self.sessions: list[str] = []

    def hex(self, n: int) -> str:
        return "".join(self.rng.choices("0123456789abcdef", k=n))

    def sentence(self, words: int) -> str:
        chosen = self.rng.choices(self.vocab, weights=self.weights, k=words)
        out: list[str] = []
        for i, w in enumerate(chosen):
            out.append(w.capitalize() if i == 0 or out[-1].endswith(".") else w)
            if self.rng.random() < 0.08:
                out[-1] += self.rng.choice([".", ",", ".", "?"])
        return " ".join(out) + "."

    def text(self, approx_bytes: int) -> str:
        parts: list[str] = []
        size = 0
        while size < approx_bytes:
            s = self.sentence(self.rng.randint(8, 25))
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts)

    def trace(self) -> list[SpanRecord]:
        trace_id = self.hex(32)
        user = self.rng.choice(self.users)
        if not self.sessions or self.rng.random() < 0.3:
            self.sessions.append(f"sess-{self.hex(12)}")
        session = self.rng.choice(self.sessions[-20:])
        question = self.sentence(self.rng.randint(10, 30)).rstrip(".") + "?"
        chunks = self.rng.sample(self.corpus, 3)
        system = self.rng.choice(self.system_prompts)
        answer = self.text(1100)
        start = self.clock
        self.clock += self.rng.randint(50, 3000) * 10**6
        root_id = self.hex(16)
        spans = [
            self._span(
                trace_id,
                root_id,
                "",
                "agent",
                "support-agent",
                start,
                start + 4_000_000_000,
                user,
                session,
                question,
                answer,
            ),
            self._span(
                trace_id,
                self.hex(16),
                root_id,
                "retriever",
                "vector_search",
                start + 10**7,
                start + 2 * 10**8,
                user,
                session,
                question,
                json.dumps(chunks),
            ),
        ]
        calls = self.rng.choice([1, 1, 2])
        for i in range(calls):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": "Context:\n" + "\n".join(chunks) + f"\n\nQuestion: {question}"},
            ]
            out = answer if i == calls - 1 else self.text(600)
            spans.append(
                self._span(
                    trace_id,
                    self.hex(16),
                    root_id,
                    "llm",
                    "chat gpt-4o-mini",
                    start + (3 + i) * 10**8,
                    start + (30 + i) * 10**8,
                    user,
                    session,
                    json.dumps(messages),
                    out,
                    llm=True,
                )
            )
        spans.append(
            self._span(
                trace_id,
                self.hex(16),
                root_id,
                "tool",
                "lookup_order",
                start + 35 * 10**8,
                start + 36 * 10**8,
                user,
                session,
                json.dumps({"order_id": self.hex(8)}),
                json.dumps({"status": self.rng.choice(["shipped", "pending", "delivered"])}),
            )
        )
        return spans

    def spans(self, n: int) -> list[SpanRecord]:
        out: list[SpanRecord] = []
        while len(out) < n:
            out.extend(self.trace())
        return out[:n]

    def _span(
        self,
        trace_id: str,
        span_id: str,
        parent: str,
        kind: str,
        name: str,
        start: int,
        end: int,
        user: str,
        session: str,
        input_text: str,
        output_text: str,
        *,
        llm: bool = False,
    ) -> SpanRecord:
        rng = self.rng
        in_tok = len(input_text) // 4 if llm else 0
        out_tok = len(output_text) // 4 if llm else 0
        in_cost = in_tok * 0.15e-6
        out_cost = out_tok * 0.6e-6
        error = rng.random() < 0.02
        attributes = {
            "gen_ai.operation.name": "chat" if llm else kind,
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini" if llm else "",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18" if llm else "",
            "gen_ai.request.temperature": "0.2",
            "gen_ai.request.max_tokens": "1024",
            "gen_ai.response.id": f"chatcmpl-{self.hex(24)}" if llm else "",
            "gen_ai.response.finish_reasons": '["stop"]',
            "gen_ai.usage.input_tokens": str(in_tok),
            "gen_ai.usage.output_tokens": str(out_tok),
            "server.address": "api.openai.com",
            "server.port": "443",
            "traceloop.workflow.name": "support-agent",
            "session.id": session,
            "user.id": user,
        }
        return SpanRecord(
            project_id=self.project_id,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            start_time=start,
            end_time=end,
            name=name,
            kind=kind,
            otel_kind="client" if llm else "internal",
            status_code="error" if error else "ok",
            status_message="upstream timeout" if error else "",
            service_name="support-bot",
            scope_name="opentelemetry.instrumentation.openai",
            provider="openai" if llm else "",
            model="gpt-4o-mini-2024-07-18" if llm else "",
            request_model="gpt-4o-mini" if llm else "",
            usage={"input": in_tok, "output": out_tok, "total": in_tok + out_tok} if llm else {},
            cost={"input": in_cost, "output": out_cost, "total": in_cost + out_cost} if llm else {},
            input_tokens=in_tok,
            output_tokens=out_tok,
            total_tokens=in_tok + out_tok,
            total_cost=in_cost + out_cost,
            cost_source="price_table" if llm else "",
            user_id=user,
            session_id=session,
            tags=["prod", "support"] if kind == "agent" else [],
            prompt_name="support-system" if llm else "",
            prompt_version=3 if llm else 0,
            input=input_text,
            output=output_text,
            input_size=len(input_text.encode()),
            output_size=len(output_text.encode()),
            input_truncated=False,
            output_truncated=False,
            error_type="TimeoutError" if error else "",
            error_message="request timed out after 30s" if error else "",
            attributes=attributes,
            resource_attributes={
                "service.name": "support-bot",
                "service.version": "1.4.2",
                "deployment.environment": "production",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.name": "opentelemetry",
                "telemetry.sdk.version": "1.27.0",
                "host.name": f"support-bot-{rng.randint(0, 5)}",
            },
            events="[]"
            if not error
            else json.dumps(
                [
                    {
                        "name": "exception",
                        "time_unix_nano": end,
                        "attributes": {"exception.type": "TimeoutError"},
                    }
                ]
            ),
        )
