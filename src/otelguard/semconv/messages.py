"""Chat messages flattened into indexed attributes, assembled back into a list of message objects.

Two conventions flatten messages this way:

* OpenLLMetry / deprecated OTel: ``gen_ai.prompt.0.role``, ``gen_ai.prompt.0.content``,
  ``gen_ai.completion.0.finish_reason``, ``gen_ai.completion.0.tool_calls.1.name``
* OpenInference: ``llm.input_messages.0.message.role``, ``...message.content``,
  ``...message.contents.0.message_content.text``, ``...message.tool_calls.0.tool_call.function.name``

The collector's attribute pass only records ``(rest of key, value)`` pairs per family (``rest`` is
``"0.role"``, ``"1.tool_calls.0.name"``, ...); :func:`assemble` turns them into
``[{"role": ..., "content": ..., ...}]``. Sub-lists (``tool_calls``, ``contents``) become lists of
objects; OpenInference's per-item prefixes (``tool_call.``, ``message_content.``) and the nested
``function.`` level are dropped so both conventions yield the same shape.
"""

from __future__ import annotations

from otelguard.model import AttrValue

# (key after the family prefix, value), in attribute order
IndexedItems = list[tuple[str, AttrValue]]

_SUBLISTS = frozenset({"tool_calls", "contents"})
_ITEM_PREFIXES = ("tool_call.", "message_content.")
_LEAF_NAMES = {
    "function.name": "name",
    "function.arguments": "arguments",
    "function_call.name": "name",
    "function_call.arguments": "arguments",
    "image.image.url": "image_url",
}


def assemble(items: IndexedItems, strip: str = "") -> list[dict[str, object]]:
    """Messages in index order. ``strip`` removes a per-field prefix (OpenInference's ``message.``)."""
    by_index: dict[str, dict[str, AttrValue]] = {}
    for rest, value in items:
        idx, dot, sub = rest.partition(".")
        if dot and sub:
            fields = by_index.get(idx)
            if fields is None:
                fields = by_index[idx] = {}
            fields[sub] = value
    n = len(strip)
    out: list[dict[str, object]] = []
    for _, idx in sorted((int(i), i) for i in by_index if i.isdigit()):
        flat: dict[str, object] = {}
        subs: dict[str, dict[int, dict[str, object]]] | None = None
        for raw_key, value in by_index[idx].items():
            key = raw_key[n:] if n and raw_key.startswith(strip) else raw_key
            if "." in key:
                head, _, rest = key.partition(".")
                pos, dot, leaf = rest.partition(".")
                if head in _SUBLISTS and dot and pos.isdigit():
                    for prefix in _ITEM_PREFIXES:
                        if leaf.startswith(prefix):
                            leaf = leaf[len(prefix) :]
                            break
                    if subs is None:
                        subs = {}
                    subs.setdefault(head, {}).setdefault(int(pos), {})[_LEAF_NAMES.get(leaf, leaf)] = value
                    continue
            flat[key] = value
        if subs:
            for head, entries in subs.items():
                flat[head] = [entries[i] for i in sorted(entries)]
        if "content" not in flat and "contents" in flat:
            # OpenInference multi-part content: keep the parts as the message content.
            flat["content"] = flat.pop("contents")
        out.append(_role_first(flat))
    return out


def _role_first(flat: dict[str, object]) -> dict[str, object]:
    # Readable, stable shape: role and content lead, other fields keep their order.
    if "role" not in flat or next(iter(flat)) == "role":
        return flat
    msg: dict[str, object] = {"role": flat.pop("role")}
    if "content" in flat:
        msg["content"] = flat.pop("content")
    msg.update(flat)
    return msg
