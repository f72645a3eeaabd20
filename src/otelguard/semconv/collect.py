"""One pass over a span's attributes: stringify each, pick the known keys, file indexed messages.

Per attribute this costs one ``str`` type check (stringify), one dict lookup in ``fields.KNOWN`` and, for
unknown keys only, one ``str.startswith`` against the indexed message prefixes. The per-field winner is
kept by rank, so precedence never needs a second look at the attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from otelguard.model import AttrValue
from otelguard.semconv import fields
from otelguard.semconv.attributes import as_str, stringify
from otelguard.semconv.messages import IndexedItems

_KNOWN_GET = fields.KNOWN.get
_TAGS = fields.TAGS
_NO_RANK = fields.NO_RANK
_PREFIXES = fields.MESSAGE_PREFIXES


class Collected:
    """The known values of one span (by field id), its tags, stringified attributes and messages."""

    __slots__ = ("attributes", "messages", "ranks", "tags", "values")

    def __init__(self, attributes: dict[str, str]) -> None:
        self.values: list[AttrValue] = [None] * fields.FIELD_COUNT
        self.ranks: list[int] = [_NO_RANK] * fields.FIELD_COUNT
        self.tags: list[AttrValue] = []
        self.attributes = attributes
        # message family prefix (fields.*_PREFIX) → [(rest of key, value)]
        self.messages: dict[str, IndexedItems] = {}


def collect(attrs: Mapping[str, AttrValue]) -> Collected:
    # C-speed copy; the loop below rewrites the non-string values, so it ends up str → str.
    out = cast("dict[str, str]", dict(attrs))
    c = Collected(out)
    values = c.values
    ranks = c.ranks
    messages = c.messages
    known_get = _KNOWN_GET  # locals: this loop is the hottest code in the collector
    prefixes = _PREFIXES
    tags_field = _TAGS
    for key, value in attrs.items():
        if type(value) is not str:
            out[key] = stringify(value)
        spec = known_get(key)
        if spec is not None:
            fld, rank = spec
            if fld == tags_field:
                c.tags.append(value)
            elif rank < ranks[fld]:
                ranks[fld] = rank
                values[fld] = value
        elif key.startswith(prefixes):
            # Every family prefix ends at the key's first "." past position 7 ("gen_ai.prompt.").
            cut = key.find(".", 7) + 1
            family = key[:cut]
            items = messages.get(family)
            if items is None:
                items = messages[family] = []
            items.append((key[cut:], value))
    return c


def collect_resource(c: Collected, attrs: Mapping[str, AttrValue]) -> tuple[dict[str, str], str]:
    """Stringified resource attributes and ``service.name``; fills user/session gaps in ``c``."""
    out = cast("dict[str, str]", dict(attrs))  # non-string values rewritten below
    values = c.values
    ranks = c.ranks
    for key, value in attrs.items():
        if type(value) is not str:
            out[key] = stringify(value)
    for key, (fld, rank) in fields.RESOURCE_KNOWN.items():
        value = attrs.get(key)
        if value is not None and rank < ranks[fld]:
            ranks[fld] = rank
            values[fld] = value
    return out, as_str(attrs.get(fields.SERVICE_NAME_KEY))
