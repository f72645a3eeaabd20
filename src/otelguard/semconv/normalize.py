"""``normalize``: one decoded OTLP span (``RawSpan``) → one ``spans`` row (``SpanRecord``)."""

from __future__ import annotations

from collections.abc import Sequence

from otelguard.model import AttrValue, RawEvent, RawSpan, SpanKind, SpanRecord, StatusCode
from otelguard.semconv import fields, genai, openinference, openllmetry
from otelguard.semconv.attributes import as_float, as_int, as_str, as_str_list, as_version, json_compact
from otelguard.semconv.collect import Collected, collect, collect_resource
from otelguard.semconv.messages import IndexedItems
from otelguard.semconv.payload import truncate_utf8
from otelguard.semconv.prices import PriceTable
from otelguard.semconv.providers import normalize_provider
from otelguard.semconv.usage import build_usage, client_cost

_LLM = SpanKind.LLM.value
_EMBEDDING = SpanKind.EMBEDDING.value
_TOOL = SpanKind.TOOL.value
_OTHER = SpanKind.OTHER.value
# Only model calls are priced from the table: agent/chain spans that report their children's usage
# would otherwise be charged a second time in per-trace sums.
_PRICED_KINDS = frozenset({_LLM, _EMBEDDING})
_COST_FIELDS = slice(fields.COST_TOTAL, fields.COST_REASONING + 1)
_NO_COST = [None] * (fields.COST_REASONING + 1 - fields.COST_TOTAL)
_INPUT_FAMILIES = (
    (fields.GENAI_PROMPT_PREFIX, openllmetry.messages),
    (fields.OI_INPUT_PREFIX, openinference.messages),
)
_OUTPUT_FAMILIES = (
    (fields.GENAI_COMPLETION_PREFIX, openllmetry.messages),
    (fields.OI_OUTPUT_PREFIX, openinference.messages),
)
_KIND_MAPS = (
    (fields.OI_KIND, openinference.SPAN_KINDS),
    (fields.OPERATION, genai.OPERATION_KINDS),
    (fields.TL_KIND, openllmetry.SPAN_KINDS),
    (fields.REQUEST_TYPE, openllmetry.REQUEST_TYPES),
)


def normalize(
    raw: RawSpan, project_id: str, *, prices: PriceTable, max_payload_bytes: int = 65536
) -> SpanRecord:
    """Map every supported convention (OTel GenAI current and deprecated, OpenInference, OpenLLMetry,
    OTelGuard's own ``otelguard.*``) onto the ``SpanRecord`` columns."""
    c = collect(raw.attributes)
    resource_attributes, service_name = collect_resource(c, raw.resource_attributes)
    v = c.values
    events = genai.scan_events(raw.events) if raw.events else None

    model_name = as_str(v[fields.MODEL_NAME])
    request_model = as_str(v[fields.REQUEST_MODEL]) or model_name
    model = as_str(v[fields.RESPONSE_MODEL]) or model_name or request_model
    provider = normalize_provider(as_str(v[fields.PROVIDER])) if v[fields.PROVIDER] is not None else ""

    usage = build_usage(
        input_tokens=as_int(v[fields.INPUT_TOKENS]),
        output_tokens=as_int(v[fields.OUTPUT_TOKENS]),
        total_tokens=as_int(v[fields.TOTAL_TOKENS]),
        cache_read=as_int(v[fields.CACHE_READ]),
        cache_write=as_int(v[fields.CACHE_WRITE]),
        reasoning=as_int(v[fields.REASONING]),
    )
    kind = _kind(v, bool(model or usage))

    cost = None
    if v[_COST_FIELDS] != _NO_COST:
        cost = client_cost(
            total=as_float(v[fields.COST_TOTAL]),
            input_cost=as_float(v[fields.COST_INPUT]),
            output_cost=as_float(v[fields.COST_OUTPUT]),
            cache_read=as_float(v[fields.COST_CACHE_READ]),
            cache_write=as_float(v[fields.COST_CACHE_WRITE]),
            reasoning=as_float(v[fields.COST_REASONING]),
        )
    cost_source = "client" if cost is not None else ""
    if cost is None and usage and model and kind in _PRICED_KINDS:
        at = raw.start_time_unix_nano
        cost = prices.cost(model, provider, usage, at)
        if cost is None and request_model != model:
            cost = prices.cost(request_model, provider, usage, at)
        if cost is not None:
            cost_source = "price_table"
    if cost is None:
        cost = {}

    input_text, input_size, input_truncated = truncate_utf8(_input(c, events), max_payload_bytes)
    output_text, output_size, output_truncated = truncate_utf8(_output(c, events), max_payload_bytes)

    error_type = as_str(v[fields.ERROR_TYPE])
    error_message = as_str(v[fields.ERROR_MESSAGE])
    if events is not None:
        error_type = error_type or events.exception_type
        error_message = error_message or events.exception_message
    if not error_message and raw.status_code is StatusCode.ERROR:
        error_message = raw.status_message

    return SpanRecord(
        project_id=project_id,
        trace_id=raw.trace_id,
        span_id=raw.span_id,
        parent_span_id=raw.parent_span_id,
        start_time=raw.start_time_unix_nano,
        end_time=raw.end_time_unix_nano,
        name=raw.name,
        kind=kind,
        otel_kind=raw.otel_kind,
        status_code=raw.status_code.value,
        status_message=raw.status_message,
        service_name=service_name,
        scope_name=raw.scope_name,
        provider=provider,
        model=model,
        request_model=request_model,
        usage=usage,
        cost=cost,
        input_tokens=usage.get("input", 0),
        output_tokens=usage.get("output", 0),
        total_tokens=usage.get("total", 0),
        total_cost=cost.get("total", 0.0),
        cost_source=cost_source,
        user_id=as_str(v[fields.USER]),
        session_id=as_str(v[fields.SESSION]),
        tags=_tags(c.tags),
        prompt_name=as_str(v[fields.PROMPT_NAME]),
        prompt_version=as_version(v[fields.PROMPT_VERSION]) or 0,
        input=input_text,
        output=output_text,
        input_size=input_size,
        output_size=output_size,
        input_truncated=input_truncated,
        output_truncated=output_truncated,
        error_type=error_type,
        error_message=error_message,
        attributes=c.attributes,
        resource_attributes=resource_attributes,
        events=_events_json(raw.events),
    )


def _kind(v: list[AttrValue], model_call: bool) -> str:
    # Explicit convention attributes first, in the order of _KIND_MAPS; then evidence.
    for fld, kinds in _KIND_MAPS:
        value = v[fld]
        if value is not None:
            kind = kinds.get(as_str(value).lower())
            if kind is not None:
                return kind
    if v[fields.TOOL] is not None:
        return _TOOL
    return _LLM if model_call else _OTHER


def _input(c: Collected, events: genai.EventFindings | None) -> str:
    v = c.values
    text = genai.input_payload(v[fields.INPUT_MESSAGES], v[fields.SYSTEM_INSTRUCTIONS])
    if text is not None:
        _drop(c, fields.INPUT_MESSAGES, fields.SYSTEM_INSTRUCTIONS)
        return text
    msgs = c.messages
    if msgs:
        for prefix, parse in _INPUT_FAMILIES:
            items = msgs.get(prefix)
            if items:
                _drop_family(c, prefix, items)
                return json_compact(parse(items))
    if events is not None:
        text = events.input_payload()
        if text is not None:
            return text
    _drop(c, fields.INPUT_VALUE)
    return as_str(v[fields.INPUT_VALUE])


def _output(c: Collected, events: genai.EventFindings | None) -> str:
    v = c.values
    text = genai.output_payload(v[fields.OUTPUT_MESSAGES])
    if text is not None:
        _drop(c, fields.OUTPUT_MESSAGES)
        return text
    msgs = c.messages
    if msgs:
        for prefix, parse in _OUTPUT_FAMILIES:
            items = msgs.get(prefix)
            if items:
                _drop_family(c, prefix, items)
                return json_compact(parse(items))
    if events is not None:
        text = events.output_payload()
        if text is not None:
            return text
    _drop(c, fields.OUTPUT_VALUE)
    return as_str(v[fields.OUTPUT_VALUE])


# The payload an input/output column was built from is not kept a second time in ``attributes``: it is the
# bulk of a span (twice the disk and insert work otherwise). Only the winning source is removed, so a
# competing payload attribute from another convention stays visible.
def _drop(c: Collected, *flds: int) -> None:
    for fld in flds:
        if c.values[fld] is not None:
            c.attributes.pop(fields.key_of(fld, c.ranks[fld]), None)


def _drop_family(c: Collected, prefix: str, items: IndexedItems) -> None:
    for rest, _ in items:
        c.attributes.pop(prefix + rest, None)


def _tags(sources: list[AttrValue]) -> list[str]:
    if not sources:
        return []
    merged: dict[str, None] = {}  # ordered set: first occurrence keeps its place
    for source in sources:
        for tag in as_str_list(source):
            merged[tag] = None
    return list(merged)


def _events_json(events: Sequence[RawEvent]) -> str:
    if not events:
        return "[]"
    return json_compact(
        [{"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes} for e in events]
    )
