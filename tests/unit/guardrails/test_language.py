"""Language validator (py3langid, offline): allowed languages pass, others are flagged with the detected
language and its confidence; short, code-like or uncertain texts are not judged."""

from __future__ import annotations

import pytest

from conftest import Detect
from otelguard.guardrails.registry import ParamsError, bind
from otelguard.guardrails.validators.language import detect as detect_language
from otelguard.guardrails.validators.language import supported_languages

EN_FR = {"allowed": ["en", "fr"]}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ich möchte mein Passwort zurücksetzen, können Sie mir helfen?", "de"),
        ("¿Dónde está la estación de tren más cercana? Necesito ayuda.", "es"),
        ("Привет, у меня вопрос по моему счёту в банке.", "ru"),  # noqa: RUF001
        (
            "四半期報告書によると、売上高は予想よりも速く伸びました。主にヨーロッパの新規顧客によるものです。",
            "ja",
        ),
        ("O relatório trimestral mostra que a receita cresceu mais rápido do que o esperado.", "pt"),
    ],
)
def test_flags_languages_outside_the_list(detect: Detect, text: str, lang: str) -> None:
    found = detect("language", text, EN_FR)
    assert len(found) == 1, found
    f = found[0]
    assert (f.entity, f.preview, f.start) == ("LANGUAGE", lang, None)
    assert 0.6 <= f.score <= 1.0
    assert f"detected {lang!r}" in (f.detail or "") and "allowed: en, fr" in (f.detail or "")


@pytest.mark.parametrize(
    "text",
    [
        "Can you help me reset my password, please? I forgot it yesterday.",
        "Où est la gare, s'il vous plaît ? Je suis un peu perdu.",
        "Please summarise https://example.com/rapport/trimestriel-2024 and mail anna@example.org",
    ],
)
def test_allowed_languages_pass(detect: Detect, text: str) -> None:
    assert detect("language", text, EN_FR) == []


@pytest.mark.parametrize(
    "text",
    [
        "Hallo!",  # too short to judge
        "12345 67890 !!! ??? 2024-01-01 42",  # no letters
        "def foo(x): return x + 1  # returns the value",  # flat distribution: not sure of anything
        "",
    ],
)
def test_short_or_uncertain_texts_are_not_judged(detect: Detect, text: str) -> None:
    assert detect("language", text, {"allowed": ["de"]}) == []


def test_min_confidence_and_min_chars(detect: Detect) -> None:
    text = "Wie spät ist es bitte?"  # 17 letters
    assert detect("language", text, {"allowed": ["en"]}) == []  # under the default minChars (20)
    assert detect("language", text, {"allowed": ["en"], "minChars": 10})[0].preview == "de"
    assert detect("language", text, {"allowed": ["en"], "minConfidence": 1.0}) == []


def test_region_and_case_are_normalised() -> None:
    v = bind("language", {"allowed": ["pt-BR", "EN", "en_US"]})
    assert v.params.allowed == ["en", "pt"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"allowed": ["xx"]}, "does not know 'xx'"),
        ({"allowed": ["english"]}, "not an ISO 639 language code"),
        ({"allowed": []}, r"params\.allowed"),
        ({}, r"params\.allowed"),
        ({"allowed": ["en"], "minConfidence": 2}, r"params\.minConfidence"),
        ({"allowed": ["en"], "minChars": 0}, r"params\.minChars"),
    ],
)
def test_bad_params(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        bind("language", params)


def test_detector_is_offline_and_ranked() -> None:
    assert {"en", "de", "fr", "es", "zh", "ja", "ar", "ru"} <= supported_languages()
    ranked = detect_language("The quick brown fox jumps over the lazy dog near the river bank.")
    assert ranked[0][0] == "en" and ranked[0][1] > 0.9
    assert abs(sum(p for _, p in ranked) - 1.0) < 1e-3
