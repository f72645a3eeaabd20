"""Input/output payload truncation to a UTF-8 byte budget."""

from __future__ import annotations


def truncate_utf8(text: str, limit: int) -> tuple[str, int, bool]:
    """``(text cut to at most limit UTF-8 bytes, original size in bytes, whether it was cut)``.

    The cut falls on a character boundary, so the result is always valid UTF-8.
    """
    if text.isascii():  # O(1) in CPython; the common case needs no encoding at all
        size = len(text)
        if size <= limit:
            return text, size, False
        return text[: max(limit, 0)], size, True
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (possible from JSON-decoded OTLP) have no UTF-8 form; they become "?".
        data = text.encode("utf-8", "replace")
        text = data.decode("utf-8")
    size = len(data)
    if size <= limit:
        return text, size, False
    # Dropping the incomplete trailing sequence is all "ignore" can do here: the prefix is valid.
    return data[: max(limit, 0)].decode("utf-8", "ignore"), size, True
