"""The LLM judge against a real HTTP server speaking the OpenAI chat completions protocol on loopback
(``openai_stub_server``: the provider itself is not reachable here)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai_stub_server import OpenAIStub, Reply

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.judge import JudgeEvaluator
from otelguard.evals.judge_templates import BUILTIN_TEMPLATES
from otelguard.evals.registry import build_evaluator
from otelguard.evals.result import Evaluation, PermanentEvalError, TransientEvalError
from otelguard.evals.subject import EvalSubject
from otelguard.semconv import PriceTable

KEY = "sk-test-0123456789abcdef"


_OPEN: list[JudgeEvaluator] = []


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    server = OpenAIStub(api_key=KEY).start()
    yield server
    while _OPEN:
        _OPEN.pop().close()
    server.close()


def subject(**kw: Any) -> EvalSubject:
    base: dict[str, Any] = {
        "project_id": "p1",
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "session_id": "",
        "name": "chat",
        "kind": "llm",
        "model": "gpt-4o",
        "input": "What is the capital of France?",
        "output": "Paris is the capital of France.",
        "start_ns": 1,
        "latency_ms": 10.0,
        "cost_usd": None,
        "status_error": False,
        "attributes": {},
        "expected": "Paris",
        "context": "France's capital city is Paris.",
    }
    base.update(kw)
    return EvalSubject(**base)


def judge(
    stub: OpenAIStub,
    *,
    score: dict[str, Any] | None = None,
    api_key: str | None = KEY,
    transport: httpx.BaseTransport | None = None,
    **judge_kw: Any,
) -> JudgeEvaluator:
    config: dict[str, Any] = {"baseUrl": stub.base_url, "model": "gpt-4o-mini", "timeoutSeconds": 5}
    if "template" not in judge_kw:
        config["builtinTemplate"] = "relevance"
    config.update(judge_kw)
    spec = EvaluatorSpec.model_validate(
        {"kind": "llm-judge", "judge": config, "score": score or {"name": "quality", "dataType": "numeric"}}
    )
    built = build_evaluator(spec, api_key=api_key, transport=transport)
    assert isinstance(built, JudgeEvaluator)
    _OPEN.append(built)
    return built


def user_prompt(stub: OpenAIStub, index: int = -1) -> str:
    messages = stub.requests[index].body["messages"]
    return str(next(m["content"] for m in messages if m["role"] == "user"))


def test_good_verdict_request_shape(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 4, "reasoning": "Addresses the question directly."}'))
    ev = judge(stub)
    result = ev.evaluate(subject())
    ev.close()
    assert result.value == pytest.approx(0.75)  # 4 on the 1-5 relevance scale
    assert result.data_type == "numeric"
    assert result.comment == "Addresses the question directly."
    (req,) = stub.requests
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["model"] == "gpt-4o-mini"
    assert req.body["temperature"] == 0
    assert req.body["response_format"] == {"type": "json_object"}
    system, user = req.body["messages"]
    assert system["role"] == "system" and '"score"' in system["content"] and "1 to 5" in system["content"]
    assert "What is the capital of France?" in user["content"]
    assert "Paris is the capital of France." in user["content"]


def test_fenced_json_verdict(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('Here you go:\n```json\n{"score": 5, "reasoning": "Perfect."}\n```'))
    with_result = judge(stub).evaluate(subject())
    assert with_result.value == 1.0 and with_result.comment == "Perfect."
    assert len(stub.requests) == 1


def test_bare_number_verdict(stub: OpenAIStub) -> None:
    stub.enqueue(Reply("2"))
    result = judge(stub).evaluate(subject())
    assert result.value == pytest.approx(0.25)
    assert result.comment == ""


def test_malformed_then_good_reasks_once(stub: OpenAIStub) -> None:
    stub.enqueue(
        Reply("I think the answer is quite relevant overall, thanks for asking about it here."),
        Reply('{"score": 3, "reasoning": "Partly relevant."}'),
    )
    result = judge(stub).evaluate(subject())
    assert result.value == pytest.approx(0.5)
    assert len(stub.requests) == 2
    second = stub.requests[1].body["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"].startswith("I think the answer")
    assert "could not be used" in second[3]["content"]
    # both calls are counted
    assert result.judge_input_tokens == 200 and result.judge_output_tokens == 40


def test_out_of_scale_score_is_reasked(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 9}'), Reply('{"score": 5, "reasoning": "fine"}'))
    assert judge(stub).evaluate(subject()).value == 1.0
    assert "outside the scale 1 to 5" in stub.requests[1].body["messages"][3]["content"]


def test_malformed_twice_is_permanent(stub: OpenAIStub) -> None:
    stub.enqueue(Reply("no idea, sorry, I cannot grade this one at all today"), Reply('{"verdict": "good"}'))
    with pytest.raises(PermanentEvalError, match="malformed judge verdict after one re-ask"):
        judge(stub).evaluate(subject())
    assert len(stub.requests) == 2


def test_429_with_retry_after_is_transient(stub: OpenAIStub) -> None:
    stub.enqueue(
        Reply(status=429, headers={"Retry-After": "7"}, body={"error": {"message": "Rate limit reached"}})
    )
    with pytest.raises(TransientEvalError, match="429: Rate limit reached") as err:
        judge(stub).evaluate(subject())
    assert err.value.retry_after == 7.0


def test_429_with_openai_reset_headers(stub: OpenAIStub) -> None:
    stub.enqueue(
        Reply(
            status=429,
            headers={"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "250ms"},
            body={"error": {"message": "slow down"}},
        )
    )
    with pytest.raises(TransientEvalError) as err:
        judge(stub).evaluate(subject())
    assert err.value.retry_after == 90.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(stub: OpenAIStub, status: int) -> None:
    stub.enqueue(Reply(status=status, text="upstream exploded"))
    with pytest.raises(TransientEvalError, match=f"answered {status}: upstream exploded") as err:
        judge(stub).evaluate(subject())
    assert err.value.retry_after is None


def test_slow_reply_beyond_timeout_is_transient(stub: OpenAIStub) -> None:
    stub.enqueue(Reply(delay=5.0))
    ev = judge(stub, timeoutSeconds=1)
    began = time.monotonic()
    with pytest.raises(TransientEvalError, match="timed out after 1s"):
        ev.evaluate(subject())
    assert time.monotonic() - began < 3.0


def test_connection_refused_is_transient(stub: OpenAIStub) -> None:
    ev = judge(stub)
    stub.close()
    with pytest.raises(TransientEvalError, match="cannot reach the judge"):
        ev.evaluate(subject())


def test_401_is_permanent(stub: OpenAIStub) -> None:
    with pytest.raises(PermanentEvalError, match="401: Incorrect API key provided"):
        judge(stub, api_key="sk-wrong-key-000000").evaluate(subject())
    assert stub.requests[0].headers["authorization"] == "Bearer sk-wrong-key-000000"


def test_non_chat_completion_body_is_permanent(stub: OpenAIStub) -> None:
    stub.enqueue(Reply(text="<html>proxy login</html>"))
    with pytest.raises(PermanentEvalError, match="chat completions format"):
        judge(stub).evaluate(subject())


def test_response_format_rejected_is_retried_without_it(stub: OpenAIStub) -> None:
    stub.reject_response_format = True
    stub.default = Reply('{"score": 5, "reasoning": "fine"}')
    ev = judge(stub)
    assert ev.evaluate(subject()).value == 1.0
    assert ["response_format" in r.body for r in stub.requests] == [True, False]
    ev.evaluate(subject())  # remembered: not sent again
    assert ["response_format" in r.body for r in stub.requests] == [True, False, False]


def test_concurrency_limit_is_honoured(stub: OpenAIStub) -> None:
    stub.default = Reply('{"score": 5}', delay=0.3)
    ev = judge(stub, maxConcurrency=2)
    results: list[Evaluation] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(ev.evaluate(subject()))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 6
    assert stub.max_in_flight == 2


def test_usage_tokens_and_cost_recorded(stub: OpenAIStub) -> None:
    stub.enqueue(
        Reply(
            '{"score": 5, "reasoning": "fine"}',
            usage={"prompt_tokens": 1_000_000, "completion_tokens": 500_000, "total_tokens": 1_500_000},
        )
    )
    result = judge(stub).evaluate(subject())
    prices = PriceTable.default().prices_at("gpt-4o-mini", "", time.time_ns())
    assert prices is not None
    expected = prices["input"] + prices["output"] * 0.5
    assert result.judge_input_tokens == 1_000_000 and result.judge_output_tokens == 500_000
    assert result.judge_cost_usd == pytest.approx(expected)
    assert result.judge_cost_usd > 0
    assert "no price" not in result.comment


def test_unknown_judge_model_costs_zero_and_says_so(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 5, "reasoning": "fine"}'))
    result = judge(stub, model="acme-judge-7b").evaluate(subject())
    assert result.judge_cost_usd == 0.0 and result.judge_input_tokens == 100
    assert "judge model 'acme-judge-7b' has no price" in result.comment


def test_boolean_score(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 3}'), Reply('{"score": 2}'))
    ev = judge(stub, score={"name": "ok", "dataType": "boolean"})
    assert ev.evaluate(subject()).value == 1.0  # 3/5 → 0.5 ≥ 0.5
    assert ev.evaluate(subject()).value == 0.0


def test_categorical_score_lists_categories(stub: OpenAIStub) -> None:
    stub.enqueue(
        Reply('{"score": "Partial", "reasoning": "half"}'), Reply('{"score": "maybe"}'), Reply("bad")
    )
    ev = judge(
        stub, score={"name": "grade", "dataType": "categorical", "categories": ["good", "partial", "bad"]}
    )
    result = ev.evaluate(subject())
    assert (result.string_value, result.value, result.data_type) == ("partial", 1.0, "categorical")
    assert '"good", "partial", "bad"' in stub.requests[0].body["messages"][0]["content"]
    assert '"good", "partial", "bad"' in user_prompt(stub, 0)
    again = ev.evaluate(subject())  # "maybe" is not a category: re-asked, then a bare category
    assert again.string_value == "bad" and again.value == 2.0


def test_custom_template_renders_variables(stub: OpenAIStub) -> None:
    template = "Q={{ input }} A={{ output }} REF={{ expected }} CTX={{ context or 'none' }}"
    stub.enqueue(Reply('{"score": 0.25}'))
    result = judge(stub, template=template).evaluate(subject(context=None))
    assert result.value == 0.25
    assert user_prompt(stub) == (
        "Q=What is the capital of France? A=Paris is the capital of France. REF=Paris CTX=none"
    )


def test_template_needing_context_refuses_without_calling(stub: OpenAIStub) -> None:
    with pytest.raises(PermanentEvalError, match="needs the span's context"):
        judge(stub, builtinTemplate="faithfulness").evaluate(subject(context=None))
    assert stub.requests == []


def test_huge_output_is_clipped_in_the_prompt(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 5}'))
    judge(stub).evaluate(subject(output="x" * 200_000))
    prompt = user_prompt(stub)
    assert len(prompt) < 40_000 and "168,000 more characters not shown" in prompt


@pytest.mark.parametrize("name", sorted(BUILTIN_TEMPLATES))
def test_every_builtin_template_renders_and_is_sent(stub: OpenAIStub, name: str) -> None:
    template = BUILTIN_TEMPLATES[name]
    top = f"{template.high:g}"
    stub.enqueue(Reply(json.dumps({"score": template.high, "reasoning": f"{name} ok"})))
    result = judge(stub, builtinTemplate=name).evaluate(subject())
    assert result.value == 1.0 and result.comment == f"{name} ok"
    prompt = user_prompt(stub)
    assert "What is the capital of France?" in prompt and "Paris is the capital of France." in prompt
    assert "Rubric:" in prompt
    if "context" in template.requires or name == "hallucination":
        assert "France's capital city is Paris." in prompt
    if "expected" in template.requires:
        assert "<reference_answer>\nParis\n</reference_answer>" in prompt
    assert f"from {template.low:g} to {top}" in stub.requests[-1].body["messages"][0]["content"]
    assert "{{" not in prompt and "{%" not in prompt


class _ToLoopback(httpx.BaseTransport):
    """A real HTTP transport that sends every request to the stub, remembering where it was going."""

    def __init__(self, stub: OpenAIStub) -> None:
        self.port = int(stub.base_url.rsplit(":", 1)[1].split("/")[0])
        self.inner = httpx.HTTPTransport()
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_default_base_url_and_injected_transport(stub: OpenAIStub) -> None:
    stub.enqueue(Reply('{"score": 1}'))
    transport = _ToLoopback(stub)
    spec = EvaluatorSpec.model_validate(
        {
            "kind": "llm-judge",
            "judge": {"model": "gpt-4o-mini", "template": "Rate {{ output }}"},
            "score": {"name": "s"},
        }
    )
    ev = build_evaluator(spec, api_key=KEY, transport=transport)
    try:
        assert ev.evaluate(subject()).value == 1.0
    finally:
        ev.close()
    assert transport.urls == ["https://api.openai.com/v1/chat/completions"]
    assert user_prompt(stub) == "Rate Paris is the capital of France."
