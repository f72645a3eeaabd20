"""token_limit and length.maxTokens: real tiktoken counts, offline, with a declared fallback."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from otelguard.guardrails import CheckContext, Engine, ParamsError, compile_policy, registry
from otelguard.guardrails.base import RequestMeta
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.validators import _tokens
from otelguard.guardrails.validators._tokens import encoding_for_model, token_counter

GERMAN_JAPANESE = "Der Straßenbahnfahrer fährt über die Brücke. 東京都は日本の首都です。"


def ids(encoding: str, text: str) -> list[int]:
    counter = token_counter(encoding)
    assert counter.exact, counter.note
    return list(counter._enc.encode_ordinary(text))


def test_ids_match_tiktokens_published_examples() -> None:
    # tiktoken's README example and the well-known "hello world" ids: the ranks are the official ones.
    assert ids("cl100k_base", "tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert ids("cl100k_base", "hello world") == [15339, 1917]
    assert ids("o200k_base", "hello world") == [24912, 2375]


def test_token_limit_counts_exactly_at_the_boundary() -> None:
    text = "word " * 100  # 101 tokens in both encodings: "word", 99 x " word", " "
    assert registry.check("token_limit", text, {"maxTokens": 101}) == []
    (finding,) = registry.check("token_limit", text, {"maxTokens": 100})
    assert (finding.entity, finding.start) == ("LENGTH", None)
    assert finding.detail == "101 tokens (o200k_base) > maxTokens 100"
    assert registry.check("token_limit", "", {"maxTokens": 1}) == []


def test_the_encoding_param_matters() -> None:
    # o200k_base packs German and Japanese far tighter than cl100k_base (19 vs 29 tokens).
    assert registry.check("token_limit", GERMAN_JAPANESE, {"maxTokens": 20}) == []
    (finding,) = registry.check("token_limit", GERMAN_JAPANESE, {"maxTokens": 20, "encoding": "cl100k_base"})
    assert finding.detail == "29 tokens (cl100k_base) > maxTokens 20"
    (finding,) = registry.check("length", GERMAN_JAPANESE, {"maxTokens": 18, "maxChars": 1000})
    assert finding.detail == "19 tokens (o200k_base) > maxTokens 18"


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("o3", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        (None, "o200k_base"),
        ("claude-3-5-sonnet", "o200k_base"),
    ],
)
def test_encoding_for_model(model: str | None, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


def test_auto_follows_the_requests_model() -> None:
    validator = registry.bind("token_limit", {"maxTokens": 20, "encoding": "auto"})

    def detail(model: str) -> list[str | None]:
        ctx = CheckContext(request=RequestMeta(model=model))
        return [f.detail for f in validator.check(ScanText(GERMAN_JAPANESE), ctx)]

    assert detail("gpt-4o") == []
    assert detail("gpt-4") == ["29 tokens (cl100k_base) > maxTokens 20"]


def test_special_token_text_is_plain_text() -> None:
    # A prompt may contain "<|endoftext|>": it is counted as text, never an error or a special token.
    (finding,) = registry.check("token_limit", "<|endoftext|>", {"maxTokens": 1})
    assert finding.detail == "7 tokens (o200k_base) > maxTokens 1"


def test_params_are_validated() -> None:
    with pytest.raises(ParamsError, match=r"params\.encoding: Input should be"):
        registry.bind("token_limit", {"maxTokens": 5, "encoding": "p50k_base"})
    with pytest.raises(ParamsError, match=r"params\.maxTokens"):
        registry.bind("token_limit", {"maxTokens": 0})


def test_loads_offline_into_an_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELGUARD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setattr(_tokens, "_COUNTERS", {})
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    target = tmp_path / "tiktoken" / hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()
    target.parent.mkdir()
    target.write_bytes(b"corrupt")  # a damaged cache file is rebuilt, not trusted
    counter = token_counter("cl100k_base")
    assert counter.exact and counter.count("tiktoken is great!") == 6
    data = target.read_bytes()
    assert hashlib.sha256(data).hexdigest() == _tokens._SOURCES["cl100k_base"][1]
    assert "TIKTOKEN_CACHE_DIR" not in os.environ  # only set while tiktoken loads
    assert token_counter("cl100k_base") is counter  # once per process


def test_falls_back_to_the_estimate_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("OTELGUARD_CACHE_DIR", str(blocker))
    monkeypatch.setattr(_tokens, "_COUNTERS", {})
    counter = token_counter("o200k_base")
    assert not counter.exact and counter.note.startswith("o200k_base unavailable: cannot write ")
    (finding,) = registry.check("token_limit", "word " * 100, {"maxTokens": 50})
    assert finding.detail is not None
    assert finding.detail.startswith("~125 tokens (estimated; o200k_base unavailable: cannot write ")
    assert finding.detail.endswith(") > maxTokens 50")


def test_engine_blocks_over_the_limit() -> None:
    spec = {
        "stages": ["input"],
        "rules": [
            {
                "name": "tokens",
                "validator": "token_limit",
                "params": {"maxTokens": 10},
                "onFail": [{"type": "block"}],
            }
        ],
    }
    engine = Engine([compile_policy(spec, name="ns/tokens")])
    assert engine.evaluate("hello world", "input").verdict == "pass"
    blocked = engine.evaluate("word " * 20, "input")
    assert blocked.verdict == "block"
    assert [f.detail for f in blocked.findings] == ["21 tokens (o200k_base) > maxTokens 10"]
