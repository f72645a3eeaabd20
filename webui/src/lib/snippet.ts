/** The "send your first trace" snippet: the OTLP/HTTP endpoint is this host on port 4318. */

export function otlpEndpoint(loc: Pick<Location, "protocol" | "hostname"> = window.location): string {
  const host = loc.hostname.includes(":") ? `[${loc.hostname}]` : loc.hostname;
  return `${loc.protocol === "https:" ? "https" : "http"}://${host}:4318`;
}

export function pythonSnippet(endpoint: string, key: string): string {
  return `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http

# app.py
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "my-llm-app"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
    endpoint="${endpoint}/v1/traces",
    headers={"Authorization": "Bearer ${key}"},
)))
trace.set_tracer_provider(provider)

tracer = trace.get_tracer("my-llm-app")
with tracer.start_as_current_span("chat gpt-4o-mini") as span:
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
    span.set_attribute("gen_ai.usage.input_tokens", 12)
    span.set_attribute("gen_ai.usage.output_tokens", 8)
provider.shutdown()`;
}

export function envSnippet(endpoint: string, key: string): string {
  return `export OTEL_EXPORTER_OTLP_ENDPOINT="${endpoint}"
export OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf"
export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20${key}"`;
}
