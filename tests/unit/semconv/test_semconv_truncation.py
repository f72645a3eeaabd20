"""Payload truncation to a UTF-8 byte budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from otelguard.model import SpanRecord
from otelguard.semconv.payload import truncate_utf8

Norm = Callable[..., SpanRecord]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("hello", 10, ("hello", 5, False)),
        ("hello", 5, ("hello", 5, False)),
        ("hello", 4, ("hell", 5, True)),
        ("hello", 0, ("", 5, True)),
        ("", 0, ("", 0, False)),
        # 2-byte é: a cut inside it drops the whole character
        ("aé", 2, ("a", 3, True)),
        ("aé", 3, ("aé", 3, False)),
        # 3-byte €
        ("€€", 4, ("€", 6, True)),
        ("€€", 5, ("€", 6, True)),
        ("€€", 6, ("€€", 6, False)),
        # 4-byte emoji, cut at each inner byte
        ("x😀", 2, ("x", 5, True)),
        ("x😀", 3, ("x", 5, True)),
        ("x😀", 4, ("x", 5, True)),
        ("x😀y", 5, ("x😀", 6, True)),
    ],
)
def test_truncate_at_character_boundary(text: str, limit: int, expected: tuple[str, int, bool]) -> None:
    result = truncate_utf8(text, limit)
    assert result == expected
    assert len(result[0].encode("utf-8")) <= max(limit, 0)


def test_every_cut_point_is_valid_utf8() -> None:
    text = "añ€😀z" * 5
    size = len(text.encode("utf-8"))
    for limit in range(size + 2):
        cut, original, truncated = truncate_utf8(text, limit)
        encoded = cut.encode("utf-8")  # would raise on a broken character
        assert len(encoded) <= limit
        assert text.startswith(cut)
        assert len(encoded) >= limit - 3  # never drops more than one partial character
        assert (original, truncated) == (size, limit < size)


def test_lone_surrogates_never_produce_invalid_utf8() -> None:
    cut, size, truncated = truncate_utf8("a\ud800b", 100)
    assert cut.encode("utf-8") == b"a?b"
    assert (size, truncated) == (3, False)


def test_normalize_truncates_input_and_output(norm: Norm) -> None:
    rec = norm({"input.value": "é" * 100, "output.value": "short"}, max_payload_bytes=51)
    assert rec.input == "é" * 25
    assert (rec.input_size, rec.input_truncated) == (200, True)
    assert (rec.output, rec.output_size, rec.output_truncated) == ("short", 5, False)
    # the full payload is not smuggled past the limit through the attributes map
    assert "input.value" not in rec.attributes and "output.value" not in rec.attributes
